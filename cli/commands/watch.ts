import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { FacepipeConfig } from '../../lib/config';
import { describeError } from '../../lib/errors';
import { imageIdOf } from '../../lib/pipeline/ids';
import { expandInputs } from '../inputs';
import { openRunning } from '../openPipeline';
import { ingestKeyOf } from './run';

/** How long a dropped file must keep the same size before it is taken (it may still be copying). */
const SETTLE_MS = 400;

/**
 * `facepipe watch`: the local twin of the S3 trigger. Files dropped into the folder are processed as they arrive;
 * at start, files that arrived while nothing was watching are caught up. Ctrl-C stops receiving, lets the images in
 * flight finish, and closes the table: nothing is left half-written, and the next start resumes.
 */
export async function watchCommand(
  folder: string | undefined,
  flags: { dataDir: string; workers?: number },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await openRunning('watch', { dataDir: flags.dataDir, config, workers: flags.workers });
  const ingestDir = pipeline.store.bucketRoot(pipeline.buckets.ingest);
  const watched = path.resolve(folder ?? ingestDir);
  const direct = watched === path.resolve(ingestDir);
  await fsp.mkdir(watched, { recursive: true });

  pipeline.on((event) => {
    if (event.type === 'image') {
      const { outcome } = event;
      const line =
        outcome.status === 'done'
          ? `${event.key}: ${outcome.faces} face(s)`
          : outcome.status === 'failed'
            ? `${event.key}: FAILED ${outcome.error.code}: ${outcome.error.message}`
            : undefined;
      if (line) process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    } else process.stdout.write(`${new Date().toISOString()} dead letter (${event.queue}): ${event.reason}\n`);
  });

  /** Takes one file: announces it when it is already an ingest object, else uploads it under its relative key. */
  const take = async (file: string) => {
    try {
      if (direct) {
        const key = await pipeline.store.keyOf(pipeline.buckets.ingest, file);
        if (key) await pipeline.announce(key);
        else {
          // A name the folder store never writes (it encodes '%', ':' and the like): the file is left alone, visibly.
          process.stderr.write(
            `${new Date().toISOString()} ${path.basename(file)}: SKIPPED: not a key of the ingest bucket; drop it into another folder and run "facepipe watch <folder>" (or "facepipe run <file>") to upload it under a clean key\n`,
          );
        }
        return;
      }
      const bytes = await fsp.readFile(file);
      const key = ingestKeyOf(file, watched);
      const existing = await pipeline.results.getImage(imageIdOf(pipeline.buckets.ingest, key));
      const etag = createHash('md5').update(bytes).digest('hex');
      if (existing?.etag === etag && existing.status !== 'processing') {
        await pipeline.resumeFaces(existing.imageId);
        return;
      }
      await pipeline.upload(key, bytes);
    } catch (error) {
      const { code, message } = describeError(error);
      process.stderr.write(`${file}: ${code}: ${message}\n`);
    }
  };

  // Catch up with what arrived while nothing was watching.
  if (direct) {
    for (const object of await pipeline.store.list(pipeline.buckets.ingest)) {
      const image = await pipeline.results.getImage(imageIdOf(pipeline.buckets.ingest, object.key));
      if (!image || image.etag !== object.etag || image.status === 'processing') await pipeline.announce(object.key);
      else await pipeline.resumeFaces(image.imageId);
    }
  } else {
    for (const file of await expandInputs([watched])) await take(file.path);
  }

  const pending = new Map<string, NodeJS.Timeout>();
  const settle = (file: string, lastSize = -1) => {
    clearTimeout(pending.get(file));
    pending.set(
      file,
      setTimeout(() => {
        pending.delete(file);
        fs.stat(file, (error, stat) => {
          if (error || !stat.isFile()) return;
          if (stat.size !== lastSize) settle(file, stat.size);
          else void take(file);
        });
      }, SETTLE_MS),
    );
  };
  const watcher = fs.watch(watched, { recursive: true }, (_event, name) => {
    if (name) settle(path.join(watched, name.toString()));
  });
  process.stderr.write(`watching ${watched} (Ctrl-C to stop)\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.stderr.write('\nstopping: letting the images in flight finish...\n');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  watcher.close();
  for (const timer of pending.values()) clearTimeout(timer);
  await pipeline.close();
  return 0;
}
