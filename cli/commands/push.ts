import { readFileOrRefuse } from '../../lib/adapters/local/fileWithin';
import { FacepipeError } from '../../lib/errors';
import { jsonLine, printable } from '../../lib/printable';
import { expandInputs } from '../inputs';
import { DeviceClient, type UploadResults } from '../push/client';
import { parseInterval, sampleFrames } from '../push/video';

export interface PushFlags {
  endpoint?: string;
  token?: string;
  video?: string;
  every?: string;
  wait?: string;
  json?: boolean;
}

/** Uploads in flight waiting for their results at once (a camera does not wait for one frame before the next). */
const IN_FLIGHT = 4;
/** The largest file push reads (uploads take at most 20 MiB; the server says its own limit). */
const MAX_FILE_BYTES = 50 * 1024 * 1024;

function who(results: UploadResults): string {
  if (results.status !== 'done') {
    return results.error
      ? `${results.status.toUpperCase()} ${results.error.code}: ${results.error.message}`
      : results.status;
  }
  if (results.faces.length === 0) return 'nobody';
  return results.faces
    .map((face) => {
      const identity = face.identity;
      const person = identity?.personId ? `${identity.name} (${identity.personId})` : 'unknown';
      const similarity = identity ? ` ${identity.similarity.toFixed(2)}` : '';
      return `${person}${similarity}${face.emotion ? ` ${face.emotion.label}` : ''}`;
    })
    .join('; ');
}

/**
 * `facepipe push`: a device client. Uploads files (or frames sampled from a video, one every `--every`) to a facepipe
 * API with a device token, as a camera would, waits for each image's results and prints who was seen. The same on
 * AWS (the HttpApiUrl output) and locally (`facepipe serve`). Exit code 1 if any image failed.
 */
export async function pushCommand(inputs: string[], flags: PushFlags): Promise<number> {
  const endpoint = flags.endpoint ?? process.env.FACEPIPE_ENDPOINT;
  const token = flags.token ?? process.env.FACEPIPE_DEVICE_TOKEN;
  if (!endpoint || !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'Give the API with --endpoint http(s)://host[:port] (or FACEPIPE_ENDPOINT).',
    );
  }
  if (!token) throw new FacepipeError('INVALID_OPTION', 'Give the device token with --token or FACEPIPE_DEVICE_TOKEN.');
  const waitSeconds = flags.wait === undefined ? 20 : Number(flags.wait);
  if (!(Number.isInteger(waitSeconds) && waitSeconds >= 0 && waitSeconds <= 20)) {
    throw new FacepipeError('INVALID_OPTION', '--wait must be a whole number of seconds from 0 to 20.');
  }
  if (flags.every !== undefined && !flags.video)
    throw new FacepipeError('INVALID_OPTION', '--every goes with --video.');
  const client = new DeviceClient(endpoint, token);

  const items: { label: string; file: string }[] = [];
  let cleanup: () => Promise<void> = async () => undefined;
  if (flags.video) {
    const every = parseInterval(flags.every ?? '1s');
    const sampled = await sampleFrames(flags.video, every);
    cleanup = sampled.cleanup;
    for (const frame of sampled.frames)
      items.push({ label: `${flags.video} @${frame.at.toFixed(2)}s`, file: frame.file });
  }
  for (const file of await expandInputs(inputs)) {
    if (file.missing) throw new FacepipeError('FILE_NOT_FOUND', `No such file or folder: ${file.path}`);
    items.push({ label: file.path, file: file.path });
  }
  if (items.length === 0) throw new FacepipeError('INVALID_OPTION', 'Give image files, a folder, or --video FILE.');

  let failed = 0;
  const seen = new Map<string, number>();
  const report = (label: string, results: UploadResults) => {
    if (results.status !== 'done') failed++;
    for (const face of results.faces) {
      if (face.identity?.personId) {
        const name = `${face.identity.name} (${face.identity.personId})`;
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
    }
    if (flags.json) process.stdout.write(jsonLine({ input: label, ...results }));
    else process.stdout.write(`${printable(label)}: ${printable(who(results))}\n`);
  };
  try {
    // Uploads go out in order as they are read; the results are waited for a few at a time and printed in order.
    const pending: { label: string; results: Promise<UploadResults> }[] = [];
    for (const item of items) {
      try {
        const bytes = await readFileOrRefuse(item.file, MAX_FILE_BYTES);
        const { imageId } = await client.upload(bytes);
        pending.push({ label: item.label, results: client.finalResults(imageId, { waitSeconds }) });
      } catch (error) {
        if (error instanceof FacepipeError && error.message.includes('answered 401')) throw error;
        const message = error instanceof Error ? error.message : String(error);
        failed++;
        process.stdout.write(
          flags.json
            ? jsonLine({ input: item.label, status: 'failed', error: { message } })
            : `${printable(item.label)}: FAILED ${printable(message)}\n`,
        );
      }
      while (pending.length >= IN_FLIGHT) {
        const next = pending.shift() as (typeof pending)[number];
        report(next.label, await next.results);
      }
    }
    for (const next of pending) report(next.label, await next.results);
  } finally {
    await cleanup();
  }
  if (!flags.json) {
    const summary = [...seen].map(([name, count]) => `${name} in ${count} image(s)`).join(', ');
    process.stdout.write(`seen: ${summary || 'no enrolled person'}\n`);
  }
  return failed > 0 ? 1 : 0;
}
