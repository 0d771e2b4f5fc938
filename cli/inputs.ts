import fs from 'node:fs/promises';
import path from 'node:path';

/** File endings picked up when a folder is named; files named explicitly are always read (format by content). */
const IMAGE_ENDINGS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);
/** Video endings picked up when a folder is named (the same: a video is told by its content, whatever its name). */
const VIDEO_ENDINGS = new Set(['.mp4', '.m4v', '.mov', '.webm', '.mkv', '.avi', '.mpg', '.mpeg', '.ts']);

export interface InputFile {
  path: string;
  /** Set when the path cannot be read at all; reported like any other failed file. */
  missing?: boolean;
}

/** Endings of files that are still being written under a temporary name (renamed to the real one when done). */
const PARTIAL_ENDINGS = new Set(['.part', '.partial', '.crdownload', '.download', '.tmp', '.temp', '.swp']);

/**
 * A file name left out when a folder is read or watched: hidden, or the temporary name of a file being written
 * (`x.jpg.part`, `x.jpg.crdownload`, `x.jpg~`, the folder store's own `…%tmp`). Folders are left out when hidden.
 */
export function isHiddenOrPartial(name: string): boolean {
  const ending = path.extname(name).toLowerCase();
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('%tmp') || PARTIAL_ENDINGS.has(ending);
}

/** A file name picked up when a folder is read or watched: an image ending, neither hidden nor partial. */
export function isImageFileName(name: string): boolean {
  const ending = path.extname(name).toLowerCase();
  return !isHiddenOrPartial(name) && (IMAGE_ENDINGS.has(ending) || VIDEO_ENDINGS.has(ending));
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(full, out);
    else if (entry.isFile() && isImageFileName(entry.name)) out.push(full);
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
