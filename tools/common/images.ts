import fs from 'node:fs';
import path from 'node:path';

/** The JPEG, PNG and WebP files under a folder (recursively), in name order, as full paths. */
export function listImages(folder: string): string[] {
  return (fs.readdirSync(folder, { recursive: true }) as string[])
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(folder, f));
}
