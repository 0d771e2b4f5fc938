import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PipelineEvent } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { imageIdOf } from '../../lib/pipeline/ids';
import { expandInputs } from '../inputs';
import { openRunning } from '../openPipeline';
import { Progress } from '../progress';

export interface RunFlags {
  dataDir: string;
  force?: boolean;
  json?: boolean;
  workers?: number;
}

/** The object key a local file gets in the ingest bucket: its path below the folder named, or its file name. */
export function ingestKeyOf(file: string, root: string | undefined): string {
  const relative = root ? path.relative(root, file) : path.basename(file);
  return relative.split(path.sep).join('/');
}

export interface RunSummary {
  images: number;
  uploaded: number;
  skipped: number;
  done: number;
  failed: number;
  faces: number;
  knownPeople: number;
  unknownFaces: number;
  deadLetters: number;
  seconds: number;
  imagesPerSecond: number;
}

/**
 * `facepipe run`: uploads the files into the local ingest bucket and lets the pipeline process them, exactly as
 * S3 → SQS → Lambda would; waits until every stage is done and prints a summary. Files already processed (same key
 * and content) are skipped unless --force. Interrupting is safe: a re-run finishes the job.
 */
export async function runCommand(inputs: string[], flags: RunFlags, config: FacepipeConfig): Promise<number> {
  const started = Date.now();
  const files: { path: string; key: string }[] = [];
  for (const input of inputs) {
    const stat = await fs.stat(input).catch(() => undefined);
    if (!stat) {
      process.stderr.write(`No such file or folder: ${input}\n`);
      return 2;
    }
    const root = stat.isDirectory() ? input : undefined;
    for (const file of await expandInputs([input])) files.push({ path: file.path, key: ingestKeyOf(file.path, root) });
  }
  if (files.length === 0) {
    process.stderr.write('No image files found in the given paths.\n');
    return 2;
  }

  const pipeline = await openRunning('run', {
    dataDir: flags.dataDir,
    config,
    force: flags.force,
    workers: flags.workers,
  });
  const stop = () => {
    process.stderr.write('\nStopping: finishing the images in flight (run again to resume)...\n');
    void pipeline.close().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = new Progress('images', files.length);
  const summary: RunSummary = {
    images: files.length,
    uploaded: 0,
    skipped: 0,
    done: 0,
    failed: 0,
    faces: 0,
    knownPeople: 0,
    unknownFaces: 0,
    deadLetters: 0,
    seconds: 0,
    imagesPerSecond: 0,
  };
  const failures: string[] = [];
  pipeline.on((event: PipelineEvent) => {
    if (event.type === 'image') {
      const { outcome } = event;
      if (outcome.status === 'done') summary.done++;
      else if (outcome.status === 'failed') {
        summary.failed++;
        failures.push(`${event.key}: ${outcome.error.code}: ${outcome.error.message}`);
      }
      if (outcome.status !== 'skipped') progress.tick();
    } else if (event.type === 'dead-letter') {
      summary.deadLetters++;
      failures.push(`${event.queue}: ${event.reason}`);
    }
  });

  try {
    for (const file of files) {
      const bytes = await fs.readFile(file.path);
      const etag = createHash('md5').update(bytes).digest('hex');
      const imageId = imageIdOf(pipeline.buckets.ingest, file.key);
      const existing = await pipeline.results.getImage(imageId);
      if (!flags.force && existing && existing.etag === etag && existing.status !== 'processing') {
        // Done before; a killed run may still owe some of its faces their emotion or identity.
        await pipeline.resumeFaces(imageId);
        summary.skipped++;
        if (existing.status === 'failed') summary.failed++;
        progress.tick();
        continue;
      }
      await pipeline.upload(file.key, bytes);
      summary.uploaded++;
    }
    await pipeline.drained();
    progress.done();

    const keys = new Set(files.map((f) => f.key));
    const people = new Set<string>();
    for (const key of keys) {
      const faces = await pipeline.results.facesOfImage(imageIdOf(pipeline.buckets.ingest, key));
      summary.faces += faces.length;
      for (const face of faces) {
        if (face.identity?.personId) people.add(face.identity.personId);
        else summary.unknownFaces++;
      }
    }
    summary.knownPeople = people.size;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await pipeline.close();
  }
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  summary.imagesPerSecond = Math.round((summary.uploaded / Math.max(summary.seconds, 0.1)) * 10) / 10;
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `${summary.images} images (${summary.uploaded} processed, ${summary.skipped} already done), ` +
        `${summary.faces} faces, ${summary.knownPeople} known people, ${summary.unknownFaces} unknown faces, ` +
        `${summary.failed} failed, ${summary.imagesPerSecond} images/s\n`,
    );
    for (const failure of failures) process.stdout.write(`  failed: ${failure}\n`);
  }
  return summary.failed > 0 || summary.deadLetters > 0 ? 1 : 0;
}
