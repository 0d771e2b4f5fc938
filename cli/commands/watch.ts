import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { deletedAt, forgetDeletion } from '../../lib/adapters/local/deletions';
import { readFileWithin } from '../../lib/adapters/local/fileWithin';
import type { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { describeError } from '../../lib/errors';
import { imageIdOf } from '../../lib/pipeline/ids';
import type { Sighting } from '../../lib/pipeline/sightings';
import { uploadLimitOf } from '../../lib/pipeline/uploadLimit';
import { printable } from '../../lib/printable';
import { expandInputs, isHiddenOrPartial, isImageFileName } from '../inputs';
import { openRunning } from '../openPipeline';
import { FileSettler } from '../settling';

/**
 * `facepipe watch`: the local twin of the S3 trigger. Files dropped into the folder are processed once they have
 * settled (`settling.ts`: a file still being written is waited for; hidden and temporary names are left alone until
 * renamed to their real name); at start, files that arrived while nothing was watching are caught up. Ctrl-C stops receiving, lets the images in
 * flight finish, and closes the table: nothing is left half-written, and the next start resumes.
 */
export async function watchCommand(
  folder: string | undefined,
  flags: { dataDir: string; workers?: number; sightings?: boolean },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await openRunning('watch', { dataDir: flags.dataDir, config, workers: flags.workers });
  const watching = await startWatching(pipeline, folder, config, { sightings: flags.sightings });
  process.stderr.write(`watching ${printable(watching.folder)} (Ctrl-C to stop)\n`);
  await untilStopped();
  await watching.close();
  await pipeline.close();
  return 0;
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM, saying that the work in flight is being finished. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.stderr.write('\nstopping: letting the images in flight finish...\n');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** One line for a sighting: the photo, then who was seen (or unknown), with similarity and emotion. */
export function sightingLine(sighting: Sighting): string {
  const faces = sighting.faces.map((face) => {
    const who = face.person ? `${face.person.name} (${face.person.personId})` : 'unknown';
    const emotion = face.emotion ? ` ${face.emotion.label}` : '';
    return `${who} ${face.similarity.toFixed(2)}${emotion}`;
  });
  const device = sighting.device ? ` [device ${sighting.device}]` : '';
  return `seen in ${sighting.image}${device}: ${faces.join('; ') || 'nobody'}`;
}

export interface Watching {
  /** The folder watched (absolute). */
  folder: string;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Print a line per sighting (a photo fully analysed). */
  sightings?: boolean;
  /** Whether an ingest object was announced already as it is now (the local server's uploads): then left alone. */
  alreadyAnnounced?: (key: string) => Promise<boolean>;
}

/**
 * The watch loop on an open pipeline: catches up with what arrived while nothing watched, then takes every file
 * dropped into the folder once it has settled. `facepipe watch` and `facepipe serve` both run it.
 */
export async function startWatching(
  pipeline: LocalPipeline,
  folder: string | undefined,
  config: FacepipeConfig,
  options: WatchOptions = {},
): Promise<Watching> {
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
      if (line) process.stdout.write(`${new Date().toISOString()} ${printable(line)}\n`);
    } else if (event.type === 'dead-letter') {
      process.stdout.write(`${new Date().toISOString()} dead letter (${event.queue}): ${printable(event.reason)}\n`);
    } else if (event.type === 'sighting' && options.sightings) {
      process.stdout.write(`${new Date().toISOString()} ${printable(sightingLine(event.sighting))}\n`);
    }
  });

  /**
   * Takes one file: announces it when it already is an ingest object, else uploads it under the key of its real path
   * (the same as `facepipe run` gives it). A file `facepipe delete` erased is skipped when caught up at start (as `run`
   * skips it); written again while watched, it is a new upload.
   */
  const take = async (file: string, catchingUp = false) => {
    try {
      const found = await pipeline.keys.keyOf(file);
      if (found.key === undefined) {
        // A name the folder store never writes (it encodes '%', ':' and the like): the file is left alone, visibly.
        process.stderr.write(
          `${new Date().toISOString()} ${printable(path.basename(file))}: SKIPPED: not a key of the ingest bucket; drop it into another folder and run "facepipe watch <folder>" (or "facepipe run <file>") to upload it under a clean key\n`,
        );
        return;
      }
      if (found.inBucket) {
        if (await options.alreadyAnnounced?.(found.key)) return;
        await forgetDeletion(pipeline, found.key);
        await pipeline.announce(found.key);
        return;
      }
      const read = await readFileWithin(file, (start) => uploadLimitOf(start, config, true));
      if ('refused' in read) {
        // Over the size limit: recorded as failed under its key from its size alone, never read nor copied.
        await pipeline.refuseUpload(found.key, read.size, read.refused);
        return;
      }
      const bytes = read.bytes;
      const existing = await pipeline.results.getImage(imageIdOf(pipeline.buckets.ingest, found.key));
      if (!existing && (await deletedAt(pipeline, found.key)) !== undefined) {
        if (catchingUp) {
          process.stderr.write(
            `${new Date().toISOString()} ${printable(found.key)}: SKIPPED: deleted with "facepipe delete"; write it again, or "facepipe run --force <file>", to process it again\n`,
          );
          return;
        }
        await forgetDeletion(pipeline, found.key);
      }
      const etag = createHash('md5').update(bytes).digest('hex');
      if (existing?.etag === etag && existing.status !== 'processing') {
        await pipeline.resumeFaces(existing.imageId);
        return;
      }
      if (existing?.etag) {
        process.stdout.write(
          `${new Date().toISOString()} ${printable(found.key)}: changed since it was processed; replacing its results\n`,
        );
      }
      await pipeline.upload(found.key, bytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // gone already (a temporary name, renamed)
      const { code, message } = describeError(error);
      process.stderr.write(`${printable(file)}: ${code}: ${printable(message)}\n`);
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
    for (const file of await expandInputs([watched])) await take(file.path, true);
  }

  const settler = new FileSettler((file) => void take(file));
  // The ingest folder is a bucket (any object is an upload); another folder gives its images, as `run` reads it.
  const wanted = (relative: string) => {
    const segments = relative.split(path.sep);
    const name = segments.pop() ?? '';
    if (segments.some((folder) => folder.startsWith('.')) || isHiddenOrPartial(name)) return false;
    return direct || isImageFileName(name);
  };
  const watcher = fs.watch(watched, { recursive: true }, (_event, name) => {
    if (name && wanted(name.toString())) settler.changed(path.join(watched, name.toString()));
  });
  return {
    folder: watched,
    async close() {
      watcher.close();
      settler.close();
    },
  };
}
