import path from 'node:path';
import { buildServer } from '../../lib/adapters/fastify/server';
import { WebSessions } from '../../lib/adapters/fastify/webSessions';
import { ADMIN_TOKEN_FILE, adminToken } from '../../lib/adapters/local/adminToken';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { printable } from '../../lib/printable';
import { startWatching, untilStopped } from './watch';

const isLoopbackHost = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * `facepipe serve`: the local pipeline (the watch loop on the ingest folder) and the HTTP API on one port: the admin
 * routes for whoever holds the admin token (`<data-dir>/admin-token`, 0600), the device routes for device tokens,
 * presigned-style uploads, POST /analyze, and the sightings as Server-Sent Events (GET /events). Ctrl-C stops
 * accepting requests, lets the images in flight finish and closes the table.
 */
export async function serveCommand(
  flags: {
    dataDir: string;
    workers?: number;
    port: number;
    host: string;
    allowRemoteAdmin?: boolean;
    sightings?: boolean;
  },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, workers: flags.workers });
  const uploadedHere = new Set<string>();
  try {
    const watching = await startWatching(pipeline, undefined, config, {
      sightings: flags.sightings,
      ownUpload: (key) => uploadedHere.has(key),
    });
    const token = await adminToken(pipeline.dataDir);
    const webSessions = new WebSessions(token);
    const server = await buildServer({
      pipeline,
      adminToken: token,
      webSessions,
      allowRemoteAdmin: flags.allowRemoteAdmin,
      onUpload: (key) => {
        uploadedHere.add(key);
        // The watch loop sees the file a moment later; after that it is an ordinary object again.
        setTimeout(() => uploadedHere.delete(key), 60_000).unref();
      },
    });
    const address = await server.listen({ port: flags.port, host: flags.host });
    const adminFile = path.join(pipeline.dataDir, ADMIN_TOKEN_FILE);
    process.stdout.write(`listening on ${address}\n`);
    // The web gallery's one-time login link (docs/web.md): it sets an HttpOnly session cookie in the browser.
    process.stdout.write(`gallery: ${address}/ui/login?code=${webSessions.loginCode()} (one-time link, 10 minutes)\n`);
    process.stderr.write(
      `facepipe serve: the API on ${address} (admin token in ${printable(adminFile)}` +
        `${isLoopbackHost(flags.host) || flags.allowRemoteAdmin ? '' : ', accepted from this machine only'}); ` +
        `watching ${printable(watching.folder)} (Ctrl-C to stop)\n`,
    );
    await untilStopped();
    await server.close();
    await watching.close();
  } finally {
    await pipeline.close();
  }
  return 0;
}
