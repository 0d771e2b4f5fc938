import path from 'node:path';
import { buildServer } from '../../lib/adapters/fastify/server';
import { WebSessions } from '../../lib/adapters/fastify/webSessions';
import { ADMIN_TOKEN_FILE, adminToken } from '../../lib/adapters/local/adminToken';
import type { FacepipeConfig } from '../../lib/config';
import { printable } from '../../lib/printable';
import { openRunning } from '../openPipeline';
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
  // serve holds the data directory as watch does (it runs the stage queues); query, people, devices and the store
  // commands work beside it, through it.
  const pipeline = await openRunning('serve', { dataDir: flags.dataDir, config, workers: flags.workers });
  // Objects announced in the ingest bucket (device uploads, /analyze?store=true, files the watch loop took) are on
  // their way; the watch loop, which sees the same file a moment later, leaves it alone while its content is the one
  // announced (no second detect of the same bytes), and takes it again once it changed.
  const announced = new Map<string, string>();
  pipeline.store.onObjectCreated(pipeline.buckets.ingest, (event) => {
    if (event.etag) announced.set(event.key, event.etag);
    setTimeout(() => announced.delete(event.key), 60_000).unref();
  });
  const ingest = pipeline.buckets.ingest;
  try {
    const watching = await startWatching(pipeline, undefined, config, {
      sightings: flags.sightings,
      alreadyAnnounced: async (key) =>
        announced.has(key) && announced.get(key) === (await pipeline.store.head(ingest, key))?.etag,
    });
    const token = await adminToken(pipeline.dataDir);
    const webSessions = new WebSessions(token);
    const server = await buildServer({
      pipeline,
      adminToken: token,
      webSessions,
      allowRemoteAdmin: flags.allowRemoteAdmin,
      // JSON lines on stderr: 500 causes (redacted), refused tokens, audit lines; never a token, body, name or details.
      log: (line) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`),
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
