import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { type ErasureReport, eraseImage } from '../../lib/pipeline/erasure';
import { jsonLine, printable } from '../../lib/printable';
import { onImageNamedBy } from '../imageArgument';

export function printErasure(report: ErasureReport, json?: boolean): void {
  if (json) {
    process.stdout.write(jsonLine(report));
    return;
  }
  process.stdout.write(`removed ${report.items.length} record(s) and ${report.objects.length} object(s):\n`);
  for (const item of report.items) process.stdout.write(`  record ${printable(item)}\n`);
  for (const o of report.objects) process.stdout.write(`  object ${o.bucket}/${printable(o.key)}\n`);
}

/** `facepipe delete <image-key or file>`: erase an image and everything derived from it. */
export async function deleteImageCommand(
  key: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    printErasure(await onImageNamedBy(pipeline, key, (named) => eraseImage(pipeline, named)), flags.json);
    return 0;
  } finally {
    await pipeline.close();
  }
}
