import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** "The network" of a test: a loopback HTTP server answering model URLs' paths with files from a temporary folder. */
export interface ModelServer {
  /** For FACEPIPE_MODEL_URL_BASE / `urlBase`: `http://127.0.0.1:<port>`. */
  base: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves each file at the path of its upstream URL (the host is dropped, as FACEPIPE_MODEL_URL_BASE does). The files
 * are copied into a temporary folder first, which is removed on close; any other path is a 404.
 */
export async function startModelServer(files: Array<{ url: string; file: string }>): Promise<ModelServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-model-server-'));
  for (const { url, file } of files) {
    const target = path.join(root, new URL(url).pathname);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(file, target);
  }
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    requests.push(urlPath);
    const file = path.join(root, path.normalize(urlPath));
    if (request.method !== 'GET' || !file.startsWith(root + path.sep) || !fs.existsSync(file)) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A loopback URL base nothing listens on: every download fails at once with ECONNREFUSED. */
export async function unreachableUrlBase(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
