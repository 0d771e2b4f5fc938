import path from 'node:path';
import { FacepipeError } from '../../errors';

/** What a user can do about a damaged table, in every message that reports one. */
export const DAMAGE_WAYS_OUT =
  'Ways out: "facepipe store repair" keeps every record LevelDB can still read (then run "facepipe store check"); ' +
  'or "facepipe store restore <backup file> --force" puts back a backup made with "facepipe store backup".';

/** The table's files are damaged (`file` names the one at fault): refused, so nothing in it was changed. */
export function storeDamaged(tableDir: string, file: string, detail: string, options?: { cause?: unknown }) {
  return new FacepipeError(
    'STORE_DAMAGED',
    `The results table in ${tableDir} is damaged: ${path.resolve(tableDir, file)} ${detail}. facepipe refused to ` +
      `open it, so nothing in it was changed or replaced. ${DAMAGE_WAYS_OUT}`,
    options,
  );
}

const REASONS: { match: RegExp; codes: string[]; reason: string; remedy: (dir: string) => string }[] = [
  {
    codes: ['ENOSPC', 'EDQUOT'],
    match: /No space left on device|Disk quota exceeded/i,
    reason: 'the disk is full (or your disk quota is used up)',
    remedy: () => 'Free some space and run the command again; what was written before is kept.',
  },
  {
    codes: ['EROFS'],
    match: /Read-only file system/i,
    reason: 'the file system is read-only',
    remedy: (dir) => `Mount it writable, or copy ${dir} somewhere writable and use --data-dir.`,
  },
  {
    codes: ['EACCES', 'EPERM'],
    match: /Permission denied|Operation not permitted/i,
    reason: 'permission denied',
    remedy: (dir) =>
      `facepipe reads and writes everything in its data directory: make ${dir} and what is in it yours and ` +
      `writable (chmod -R u+rwX ${dir}), or use another --data-dir.`,
  },
];

/**
 * Turns a file-system or LevelDB I/O error into STORE_UNAVAILABLE naming the path and what to do; undefined when
 * the error is not one of those (the caller keeps it).
 */
export function explainStoreError(error: unknown, file: string, doing: string, dataDir: string) {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  const known = REASONS.find((reason) => reason.codes.includes(code) || reason.match.test(message));
  if (!known) return undefined;
  return new FacepipeError(
    'STORE_UNAVAILABLE',
    `Cannot ${doing} ${file}: ${known.reason} (${message}). ${known.remedy(dataDir)}`,
    { cause: error },
  );
}

/** `explainStoreError`, or the error itself when it is not an I/O failure facepipe can explain. */
export function asStoreError(error: unknown, file: string, doing: string, dataDir: string): unknown {
  if (error instanceof FacepipeError) return error;
  return explainStoreError(error, file, doing, dataDir) ?? error;
}
