import type { FacepipeConfig } from '../../lib/config';
import { type ErasureReport, eraseImage } from '../../lib/pipeline/erasure';
import { openJoined } from '../openPipeline';

export function printErasure(report: ErasureReport, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  process.stdout.write(`removed ${report.items.length} record(s) and ${report.objects.length} object(s):\n`);
  for (const item of report.items) process.stdout.write(`  record ${item}\n`);
  for (const o of report.objects) process.stdout.write(`  object ${o.bucket}/${o.key}\n`);
}

/** `facepipe delete <image-key>`: erase an image and everything derived from it. */
export async function deleteImageCommand(
  key: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await openJoined('delete', flags.dataDir, config);
  try {
    printErasure(await eraseImage(pipeline, key), flags.json);
    return 0;
  } finally {
    await pipeline.close();
  }
}
