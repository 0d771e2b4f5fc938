import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { deletedAt, forgetDeletion } from '../../lib/adapters/local/deletions';
import { readFileWithin } from '../../lib/adapters/local/fileWithin';
import { legacyKeyOf } from '../../lib/adapters/local/localKeys';
import type { LocalPipeline, PipelineEvent } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { imageIdOf } from '../../lib/pipeline/ids';
import { uploadLimitOf } from '../../lib/pipeline/uploadLimit';
import { jsonLine, printable } from '../../lib/printable';
import { expandInputs } from '../inputs';
import { openRunning } from '../openPipeline';
import { Progress } from '../progress';

export interface RunFlags {
  dataDir: string;
  force?: boolean;
  json?: boolean;
  workers?: number;
}

export interface RunSummary {
  /** Distinct files (a file named twice, e.g. through a folder and its subfolder, counts once). */
  images: number;
  uploaded: number;
  skipped: number;
  done: number;
  failed: number;
  faces: number;
  knownPeople: number;
  unknownFaces: number;
  deadLetters: number;
  /** Files whose key held the results of different content (the file changed since): those results were replaced. */
  replaced: number;
  replacedKeys: string[];
  /** Files skipped because `facepipe delete` erased them (--force processes them again). */
  deleted: number;
  seconds: number;
  imagesPerSecond: number;
}

interface RunFile {
  path: string;
  /** Its key before keys were derived from real paths, to recognise results stored under it. */
  legacyKey: string;
}

/**
 * `facepipe run`: uploads the files into the local ingest bucket and lets the pipeline process them, exactly as
 * S3 → SQS → Lambda would; waits until every stage is done and prints a summary. Each file's key is derived from its
 * real path (`lib/adapters/local/localKeys.ts`), so different files never share a key and a file named two ways is
 * one upload. Files already processed (same key and content) are skipped unless --force; a file that changed since
 * replaces its earlier results, and the summary says so. Interrupting is safe: a re-run finishes the job.
 */
export async function runCommand(inputs: string[], flags: RunFlags, config: FacepipeConfig): Promise<number> {
  const started = Date.now();
  const files: RunFile[] = [];
  for (const input of inputs) {
    const stat = await fs.stat(input).catch(() => undefined);
    if (!stat) {
      process.stderr.write(`No such file or folder: ${printable(input)}\n`);
      return 2;
    }
    const root = stat.isDirectory() ? input : undefined;
    for (const file of await expandInputs([input]))
      files.push({ path: file.path, legacyKey: legacyKeyOf(file.path, root) });
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
  const summary: RunSummary = {
    images: 0,
    uploaded: 0,
    skipped: 0,
    done: 0,
    failed: 0,
    faces: 0,
    knownPeople: 0,
    unknownFaces: 0,
    deadLetters: 0,
    replaced: 0,
    replacedKeys: [],
    deleted: 0,
    seconds: 0,
    imagesPerSecond: 0,
  };
  const failures: string[] = [];
  const legacy: { legacyKey: string; key: string }[] = [];
  const keys = new Set<string>();
  let progress: Progress | undefined;
  pipeline.on((event: PipelineEvent) => {
    if (event.type === 'image') {
      const { outcome } = event;
      if (outcome.status === 'done') summary.done++;
      else if (outcome.status === 'failed') {
        summary.failed++;
        failures.push(`${event.key}: ${outcome.error.code}: ${outcome.error.message}`);
      }
      if (outcome.status !== 'skipped') progress?.tick();
    } else if (event.type === 'dead-letter') {
      summary.deadLetters++;
      failures.push(`${event.queue}: ${event.reason}`);
    }
  });

  try {
    const named: { file: RunFile; key: string; inBucket: boolean }[] = [];
    for (const file of files) {
      const found = await pipeline.keys.keyOf(file.path);
      if (found.key === undefined) {
        summary.failed++;
        failures.push(
          `${file.path}: INVALID_KEY: in the ingest bucket's folder under a name the folder store never writes; ` +
            'move it out of the data directory and run it from there',
        );
        continue;
      }
      if (keys.has(found.key)) continue; // the same file, named twice
      keys.add(found.key);
      named.push({ file, key: found.key, inBucket: found.inBucket });
    }
    summary.images = named.length;
    progress = new Progress('images', named.length);

    for (const { file, key, inBucket } of named) {
      const read = await readFileWithin(file.path, (start) => uploadLimitOf(start, config, true));
      if ('refused' in read) {
        // Over the size limit: recorded as failed under its key from its size alone, never read nor copied.
        await pipeline.refuseUpload(key, read.size, read.refused);
        summary.uploaded++;
        continue;
      }
      const bytes = read.bytes;
      const etag = createHash('md5').update(bytes).digest('hex');
      const imageId = imageIdOf(pipeline.buckets.ingest, key);
      const existing = await pipeline.results.getImage(imageId);
      if (!flags.force && existing && existing.etag === etag && existing.status !== 'processing') {
        // Done before; a killed run may still owe some of its faces their emotion or identity.
        await pipeline.resumeFaces(imageId);
        summary.skipped++;
        if (existing.status === 'failed') summary.failed++;
        progress.tick();
        continue;
      }
      if (!existing && (await skipAsDeleted(pipeline, key, flags.force))) {
        summary.deleted++;
        progress.tick();
        continue;
      }
      // An etag of '' is a key that was refused before anything was stored: there were no results to replace.
      if (existing?.etag && existing.etag !== etag) summary.replacedKeys.push(key);
      if (!existing && (await processedUnderLegacyKey(pipeline, file, key, etag)))
        legacy.push({ legacyKey: file.legacyKey, key });
      if (inBucket) await pipeline.announce(key);
      else await pipeline.upload(key, bytes);
      summary.uploaded++;
    }
    await pipeline.drained();
    progress.done();

    const people = new Set<string>();
    for (const key of keys) {
      const imageId = imageIdOf(pipeline.buckets.ingest, key);
      const faces = await pipeline.results.facesOfImage(imageId);
      summary.faces += faces.length;
      for (const face of faces) {
        if (face.identity?.personId) people.add(face.identity.personId);
        else summary.unknownFaces++;
      }
      // A video's faces are its tracks: one per person seen, however many frames show them.
      for (const track of await pipeline.results.tracksOfVideo(imageId)) {
        summary.faces++;
        if (track.identity.personId) people.add(track.identity.personId);
        else summary.unknownFaces++;
      }
    }
    summary.knownPeople = people.size;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await pipeline.close();
  }
  summary.replaced = summary.replacedKeys.length;
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  summary.imagesPerSecond = Math.round((summary.uploaded / Math.max(summary.seconds, 0.1)) * 10) / 10;
  if (legacy.length > 0) process.stderr.write(legacyNotice(legacy));
  if (flags.json) process.stdout.write(jsonLine(summary));
  else {
    process.stdout.write(
      `${summary.images} images (${summary.uploaded} processed, ${summary.skipped} already done), ` +
        `${summary.faces} faces, ${summary.knownPeople} known people, ${summary.unknownFaces} unknown faces, ` +
        `${summary.failed} failed, ${summary.imagesPerSecond} images/s\n`,
    );
    if (summary.deleted > 0) {
      process.stdout.write(
        `skipped ${summary.deleted} deleted file${summary.deleted === 1 ? '' : 's'}; --force to process ${summary.deleted === 1 ? 'it' : 'them'} again\n`,
      );
    }
    if (summary.replaced > 0) {
      process.stdout.write(`replaced the results of ${summary.replaced} changed file(s):\n`);
      for (const key of summary.replacedKeys) process.stdout.write(`  replaced: ${printable(key)}\n`);
    }
    for (const failure of failures) process.stdout.write(`  failed: ${printable(failure)}\n`);
  }
  return summary.failed > 0 || summary.deadLetters > 0 ? 1 : 0;
}

/**
 * Whether to skip a file because `facepipe delete` erased it (a run must not quietly undo a deletion); with --force it
 * is processed again and no longer counts as deleted. The one place to switch to the core's erasure tombstone.
 */
async function skipAsDeleted(pipeline: LocalPipeline, key: string, force: boolean | undefined): Promise<boolean> {
  if ((await deletedAt(pipeline, key)) === undefined) return false;
  if (!force) return true;
  await forgetDeletion(pipeline, key);
  return false;
}

/** Whether this very content was processed before under the key older versions gave the file. */
async function processedUnderLegacyKey(
  pipeline: LocalPipeline,
  file: RunFile,
  key: string,
  etag: string,
): Promise<boolean> {
  if (file.legacyKey === key) return false;
  const old = await pipeline.results.getImage(imageIdOf(pipeline.buckets.ingest, file.legacyKey));
  return old?.etag === etag;
}

/** One line on results stored under old-style keys: they are kept, and these files are processed under new keys. */
function legacyNotice(legacy: readonly { legacyKey: string; key: string }[]): string {
  const [first] = legacy;
  return (
    `note: ${legacy.length} of these file(s) were processed before under old-style keys (e.g. ` +
    `"${printable(first?.legacyKey ?? '')}", now "${printable(first?.key ?? '')}"): they are processed again under ` +
    'keys derived from their real paths; the old results stay queryable under the old keys ' +
    '("facepipe delete <old key>" removes them).\n'
  );
}
