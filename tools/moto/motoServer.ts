import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

/** moto (AWS APIs on loopback) when installed; the AWS tests skip loudly without it. */
export function motoAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0;
}

/**
 * moto_server as its own `moto_server` command runs it (werkzeug, a thread per connection), but one request at a time.
 * moto's backends take no lock: two UpdateItems on one item, handled at once, each read it, changed it and wrote it
 * back, and one change was lost (30 concurrent `ADD`s to one set lost 2-4 of 600 on a loaded machine). DynamoDB
 * applies each request to an item atomically, and the pipeline counts on it (the set of described faces), so the
 * tests and benches would see failures AWS never gives. Connections are still accepted at once; each request is
 * handled whole (its response body read out) under one lock.
 */
const SERIALISED_MOTO_SERVER = `
import sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

dispatch = DomainDispatcherApplication(create_backend_app)
one_at_a_time = threading.Lock()

def app(environ, start_response):
    with one_at_a_time:
        body = dispatch(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            getattr(body, "close", lambda: None)()

run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=True)
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Moto {
  endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts moto_server, one request at a time (`SERIALISED_MOTO_SERVER`), on a free loopback port; waits until it
 * answers.
 */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('python3', ['-c', SERIALISED_MOTO_SERVER, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start in 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Environment for SDK clients (and the functions) to talk to moto: dummy credentials, one region, the endpoint. */
export function motoEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
  };
}
