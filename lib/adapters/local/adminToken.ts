import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The local server's administrator credential: 256 random bits in `<data-dir>/admin-token`, readable by its owner
 * only (0600), made on first use. Whoever can read the data directory can read the results anyway; the file keeps
 * other users of the machine and other devices on the network out of the admin routes.
 */
export const ADMIN_TOKEN_FILE = 'admin-token';

export async function adminToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const token = (await fs.readFile(file, 'utf8')).trim();
    await fs.chmod(file, 0o600);
    if (token.length >= 32) return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = `fpa1.${randomBytes(32).toString('base64url')}`;
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${token}\n`, { mode: 0o600 });
  await fs.chmod(file, 0o600);
  return token;
}

export function isAdminToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
