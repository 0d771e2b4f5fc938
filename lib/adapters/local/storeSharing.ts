import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import { type ErrorCode, FacepipeError } from '../../errors';
import { type DataDirectory, PRIVATE_FILE_MODE } from './dataDirectory';
import { asStoreError } from './storeErrors';

/**
 * Sharing the data directory between one user's facepipe processes. The process that holds the data directory's
 * lock (the owner: `run`, `watch`, later `serve`, or any command that found it free) listens on a Unix socket that
 * only its user can reach: the socket is 0600 inside the 0700 `owner/` folder, and a client must present the token
 * the owner wrote to `owner/token` (0600) for this run, which also guards platforms that ignore a socket's own
 * permissions. Another command finds the lock taken, connects, and calls the owner's operations (DynamoDB requests
 * on the table, erasure purges, checks, backups) instead of opening the store itself: one process writes the table.
 *
 * The protocol is one JSON object per line: `{id, op, args}` and `{id, result}` or `{id, error: {code, message}}`;
 * the first call is `hello` with the token, answered once the owner is ready (or refusing to share).
 */
const PROTOCOL = 1;

/** Who holds the data directory, as its `hello` answer says. */
export interface OwnerInfo {
  pid: number;
  /** The command it runs (`watch`, `run`, `query`, `store restore`, ...). */
  command: string;
  /** False when it needs the data directory alone (a restore or repair) and refuses every call. */
  shares: boolean;
}

export type ShareOperations = Record<string, (args: unknown) => Promise<unknown>>;

interface Request {
  id: number;
  op: string;
  args?: unknown;
}
interface Response {
  id: number;
  result?: unknown;
  error?: { code: ErrorCode; message: string };
}

/** The owner's side: accepts the same user's facepipe processes and answers their calls. */
export class ShareServer {
  private operations: ShareOperations | undefined;
  private refusal: string | undefined;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly sessions = new Set<net.Socket>();
  private sessionsEnded: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private isReady = false;

  private constructor(
    private readonly directory: DataDirectory,
    private readonly server: net.Server,
    private readonly token: Buffer,
    private readonly command: string,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts listening (the caller holds the data directory's lock, so a socket file left there is stale). */
  static async listen(directory: DataDirectory, command: string): Promise<ShareServer> {
    const token = randomBytes(32);
    await directory.writePrivateFile(directory.tokenFile, token.toString('hex'));
    await fs.rm(directory.socketPath, { force: true });
    const server = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(directory.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await fs.chmod(directory.socketPath, PRIVATE_FILE_MODE);
    } catch (error) {
      server.close();
      throw asStoreError(error, directory.socketPath, 'listen on', directory.root);
    }
    return new ShareServer(directory, server, token, command);
  }

  /** From now on, calls are answered with these operations. */
  serve(operations: ShareOperations): void {
    this.operations = operations;
    this.isReady = true;
    this.markReady();
  }

  /** This holder needs the data directory alone: every client is told so (with `reason`) at once. */
  refuse(reason: string): void {
    this.refusal = reason;
    this.isReady = true;
    this.markReady();
  }

  /**
   * Stops accepting, then waits until every connected process has finished (they are mid-command: their work goes
   * through this one). `waiting` hears how many are still connected, once, if any.
   */
  close(waiting?: (sessions: number) => void): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await fs.rm(this.directory.tokenFile, { force: true });
      // Processes still waiting for their hello (this owner never got ready) look at the lock again.
      if (!this.isReady) for (const session of this.sessions) session.destroy();
      if (this.sessions.size > 0) {
        waiting?.(this.sessions.size);
        await new Promise<void>((resolve) => {
          this.sessionsEnded = resolve;
        });
      }
    })();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    this.sessions.add(socket);
    let authenticated = false;
    socket.on('close', () => {
      this.sessions.delete(socket);
      if (this.sessions.size === 0) this.sessionsEnded?.();
    });
    socket.on('error', () => undefined); // the client went away; 'close' follows
    const send = (response: Response) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
    };
    readLines(socket, async (line) => {
      let request: Request;
      try {
        request = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      if (!authenticated) {
        const offered = Buffer.from(String((request.args as { token?: string } | undefined)?.token ?? ''), 'hex');
        if (request.op !== 'hello' || offered.length !== this.token.length || !timingSafeEqual(offered, this.token)) {
          send({ id: request.id, error: { code: 'STORE_BUSY', message: 'wrong token' } });
          socket.end();
          return;
        }
        authenticated = true;
        await this.ready;
        const info: OwnerInfo = { pid: process.pid, command: this.command, shares: this.refusal === undefined };
        send({ id: request.id, result: { protocol: PROTOCOL, ...info } });
        return;
      }
      const operation = this.operations?.[request.op];
      if (this.refusal !== undefined || !operation) {
        const message = this.refusal ?? `unknown operation "${request.op}"`;
        send({ id: request.id, error: { code: 'STORE_BUSY', message } });
        return;
      }
      try {
        send({ id: request.id, result: await operation(request.args) });
      } catch (error) {
        const code: ErrorCode = error instanceof FacepipeError ? error.code : 'INTERNAL';
        send({ id: request.id, error: { code, message: (error as Error).message ?? String(error) } });
      }
    });
  }
}

/** A process's side: its calls go to the owner. */
export class ShareClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private lost: FacepipeError | undefined;

  private constructor(
    private readonly socket: net.Socket,
    dataDir: string,
  ) {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.lost ??= new FacepipeError(
        'STORE_UNAVAILABLE',
        `The facepipe that holds the data directory ${dataDir} (${this.owner ? describeOwner(this.owner) : 'its owner'}) ` +
          'stopped while this command was working through it. Run the command again.',
      );
      for (const waiter of this.pending.values()) waiter.reject(this.lost);
      this.pending.clear();
    });
    readLines(socket, (line) => {
      const response = JSON.parse(line) as Response;
      const waiter = this.pending.get(response.id);
      if (!waiter) return;
      this.pending.delete(response.id);
      if (response.error) waiter.reject(new FacepipeError(response.error.code, response.error.message));
      else waiter.resolve(response.result);
    });
  }

  owner: OwnerInfo | undefined;

  /**
   * Connects to the owner of `directory` and says hello; undefined when no owner answers (none is listening yet or
   * any more, or the one that wrote the token has gone), for the caller to look at the lock again.
   */
  static async connect(directory: DataDirectory): Promise<ShareClient | undefined> {
    const stat = await fs.lstat(directory.socketPath).catch(() => undefined);
    if (!stat?.isSocket() || (process.getuid && stat.uid !== process.getuid())) return undefined;
    const token = await fs.readFile(directory.tokenFile, 'utf8').catch(() => undefined);
    if (!token) return undefined;
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const candidate = net.connect(directory.socketPath);
      candidate.once('connect', () => resolve(candidate));
      candidate.once('error', () => resolve(undefined));
    });
    if (!socket) return undefined;
    const client = new ShareClient(socket, directory.root);
    try {
      const hello = (await client.call('hello', { token, protocol: PROTOCOL })) as OwnerInfo & { protocol: number };
      if (hello.protocol !== PROTOCOL) {
        client.close();
        throw new FacepipeError(
          'STORE_BUSY',
          `Another version of facepipe (${describeOwner(hello)}) holds the data directory ${directory.root} and ` +
            'speaks another protocol: stop it, or run this command with that version.',
        );
      }
      client.owner = { pid: hello.pid, command: hello.command, shares: hello.shares };
      return client;
    } catch (error) {
      client.close();
      if (error instanceof FacepipeError && error.code === 'STORE_BUSY') {
        if (error.message === 'wrong token') return undefined;
        throw error;
      }
      return undefined;
    }
  }

  call(op: string, args?: unknown): Promise<unknown> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ id, op, args } satisfies Request)}\n`);
    });
  }

  close(): void {
    this.socket.end();
  }
}

export function describeOwner(owner: Pick<OwnerInfo, 'pid' | 'command'>): string {
  return `facepipe ${owner.command}, pid ${owner.pid}`;
}

/** Calls `onLine` with each newline-terminated line of `socket` as it arrives (calls may overlap). */
function readLines(socket: net.Socket, onLine: (line: string) => Promise<void> | void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') void Promise.resolve(onLine(line)).catch(() => socket.destroy());
      newline = buffered.indexOf('\n');
    }
  });
}
