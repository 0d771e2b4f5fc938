import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { ResultsStore } from '../../lib/pipeline/ports';
import type { FaceRecord } from '../../lib/pipeline/records';
import { testConfig } from './testConfig';

export function tempDataDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `facepipe-${label}-`));
}

export function openPipeline(dataDir: string, options: { consume?: boolean; workers?: number } = {}) {
  return LocalPipeline.open({ dataDir, config: testConfig(), ...options });
}

/** Every object file under the buckets folder (relative paths), for asserting that erasure leaves nothing. */
export function bucketFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'buckets');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(root, f), { throwIfNoEntry: false })?.isFile() === true)
    .sort();
}

/** Every item of the results table, read directly (for asserting what is and is not stored). */
export async function tableItems(pipeline: LocalPipeline): Promise<Record<string, unknown>[]> {
  const { client } = (
    pipeline as unknown as { access: { client: { send: (c: unknown) => Promise<{ Items?: unknown[] }> } } }
  ).access;
  const { Items } = await client.send(new ScanCommand({ TableName: pipeline.results.tableName }));
  return (Items ?? []) as Record<string, unknown>[];
}

/** Writes analysed faces as the three stages would (detection, then emotion and identity), so they are listed too. */
export async function storeFaces(results: ResultsStore, faces: readonly FaceRecord[]): Promise<void> {
  await results.putFaces(faces.map(({ emotion, age, gender, identity, ...detected }) => detected as FaceRecord));
  for (const face of faces) {
    if (face.emotion) await results.setAppearance(face, face.crop.key, face);
    if (face.identity) await results.setIdentity(face, face.crop.key, face.identity);
  }
}
