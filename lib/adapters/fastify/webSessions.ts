import { randomBytes } from 'node:crypto';
import { isAdminToken } from '../local/adminToken';

/**
 * How a browser becomes the local server's administrator without ever holding the admin token in script reach:
 *
 * - `facepipe serve` prints a one-time login link (`/ui/login?code=…`, 256 random bits, valid for 10 minutes, good
 *   for one use). Opening it swaps the code for a session, and the server answers with a session cookie that is
 *   `HttpOnly` (no script reads it) and `SameSite=Strict` (no other site's page sends it), then redirects to the
 *   gallery. Pasting the admin token into the login form does the same (for a link that expired).
 * - Sessions live in the server's memory only (a restart ends them all) and expire after 12 hours.
 * - A request carrying the cookie is an administrator's for reads (GET, HEAD, the event stream, images); a request
 *   that changes something must also carry `X-Facepipe-UI: 1`, a header no other site's page can add without a CORS
 *   preflight this server never grants: a second lock against cross-site requests after SameSite.
 * - The server's loopback rule applies as for the token: from another machine the cookie admits nothing unless
 *   `--allow-remote-admin`.
 */
export const SESSION_COOKIE = 'facepipe_ui';
export const UI_HEADER = 'x-facepipe-ui';

export interface WebSessionOptions {
  loginCodeTtlMs?: number;
  sessionTtlMs?: number;
  now?: () => Date;
}

const DEFAULTS = { loginCodeTtlMs: 10 * 60_000, sessionTtlMs: 12 * 3600_000 };
const SAFE_METHODS = new Set(['GET', 'HEAD']);

const randomId = () => randomBytes(32).toString('base64url');

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export class WebSessions {
  private readonly loginCodes = new Map<string, number>();
  private readonly sessions = new Map<string, number>();
  private readonly settings: typeof DEFAULTS;
  private readonly now: () => Date;

  constructor(
    private readonly adminToken: string,
    options: WebSessionOptions = {},
  ) {
    this.settings = { ...DEFAULTS, ...options };
    this.now = options.now ?? (() => new Date());
  }

  /** A new one-time login code (printed by `facepipe serve` as a link). */
  loginCode(): string {
    const code = randomId();
    this.loginCodes.set(code, this.now().getTime() + this.settings.loginCodeTtlMs);
    return code;
  }

  /** A session for a login code that is valid and unused (the code is spent), else undefined. */
  redeemCode(code: string): string | undefined {
    const expires = this.loginCodes.get(code);
    this.loginCodes.delete(code);
    if (expires === undefined || expires < this.now().getTime()) return undefined;
    return this.open();
  }

  /** A session for the admin token itself (the login form), else undefined. */
  loginWithToken(token: string): string | undefined {
    return isAdminToken(token.trim(), this.adminToken) ? this.open() : undefined;
  }

  end(session: string | undefined): void {
    if (session !== undefined) this.sessions.delete(session);
  }

  /** Whether a request's cookie is a live session, and an unsafe method carries the UI header. */
  admits(request: { method: string; headers: Record<string, string | string[] | undefined> }): boolean {
    const cookie = request.headers.cookie;
    const session = cookieValue(typeof cookie === 'string' ? cookie : undefined, SESSION_COOKIE);
    if (session === undefined) return false;
    const expires = this.sessions.get(session);
    if (expires === undefined) return false;
    if (expires < this.now().getTime()) {
      this.sessions.delete(session);
      return false;
    }
    return SAFE_METHODS.has(request.method.toUpperCase()) || request.headers[UI_HEADER] === '1';
  }

  /** The Set-Cookie header of a new session. */
  cookie(session: string): string {
    const maxAge = Math.floor(this.settings.sessionTtlMs / 1000);
    return `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
  }

  private open(): string {
    const session = randomId();
    this.sessions.set(session, this.now().getTime() + this.settings.sessionTtlMs);
    return session;
  }
}
