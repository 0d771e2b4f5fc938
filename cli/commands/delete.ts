import type { FacepipeConfig } from '../../lib/config';
import { type ErasureReport, eraseImage } from '../../lib/pipeline/erasure';
import { jsonLine, printable } from '../../lib/printable';
import { onImageNamedBy } from '../imageArgument';
import { openJoined } from '../openPipeline';

export function printErasure(report: ErasureReport, json?: boolean): void {
  if (json) {
    process.stdout.write(jsonLine(report));
    return;
  }
  process.stdout.write(`removed ${report.items.length} record(s) and ${report.objects.length} object(s):\n`);
  for (const item of report.items) process.stdout.write(`  record ${printable(item)}\n`);
  for (const o of report.objects) process.stdout.write(`  object ${o.bucket}/${printable(o.key)}\n`);
}

/**
 * `facepipe delete <image-key or file>`: erase an image and everything derived from it, and remember that it was
 * deleted: a later `facepipe run` skips the file (and says so) unless `--force`.
 */
export async function deleteImageCommand(
  key: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await openJoined('delete', flags.dataDir, config);
  try {
    const report = await onImageNamedBy(pipeline, key, async (named) => {
      // The erasure leaves the image's erasure mark: the next run of the same folder skips the file and says so.
      return eraseImage(pipeline, named);
    });
    printErasure(report, flags.json);
    return 0;
  } finally {
    await pipeline.close();
  }
}
