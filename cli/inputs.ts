import fs from 'node:fs/promises';
import path from 'node:path';

/** File endings picked up when a folder is named; files named explicitly are always read (format by content). */
const IMAGE_ENDINGS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);

export interface InputFile {
  path: string;
  /** Set when the path cannot be read at all; reported like any other failed file. */
  missing?: boolean;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile() && IMAGE_ENDINGS.has(path.extname(entry.name).toLowerCase())) out.push(full);
  }
}

/** Expands the command line's files and folders (recursively, sorted) into the list of files to process. */
export async function expandInputs(inputs: readonly string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const input of inputs) {
    const stat = await fs.stat(input).catch(() => undefined);
    if (!stat) files.push({ path: input, missing: true });
    else if (stat.isDirectory()) {
      const found: string[] = [];
      await walk(input, found);
      for (const f of found) files.push({ path: f });
    } else files.push({ path: input });
  }
  return files;
}
