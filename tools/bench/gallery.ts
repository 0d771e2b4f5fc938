/**
 * `npm run bench:gallery`: how long the web gallery's images page takes to open with 500 images, in Debian's
 * chromium (playwright-core) against `facepipe serve`'s server on loopback.
 *
 * The 500 images are real photos (the WIDER FACE subset, cycled), stored as the pipeline stores them (the upload in
 * the ingest bucket, a 320 px thumbnail, a `done` image record), so the page reads exactly what it reads after
 * `facepipe run`; no model runs. Each round opens the page in a fresh browser context (no cache) and measures, with
 * the page's own clock from navigation start:
 *
 * - tiles: all 500 tiles are in the DOM (the listing answered and was rendered);
 * - visible: every thumbnail in the first screen has loaded (what the user sees is complete).
 *
 *   npm run bench:gallery -- [--rounds N] [--images N] [--out DIR]   (--help for the flags)
 *
 * A benchmark, not a test: numbers depend on the machine and its load, so the report states both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { buildServer } from '../../lib/adapters/fastify/server';
import { WebSessions } from '../../lib/adapters/fastify/webSessions';
import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import { loadConfig } from '../../lib/config';
import { imageIdOf, imageThumbnailKeyOf } from '../../lib/pipeline/ids';
import { integerOption, parseToolArgs, pathOption, runTool } from '../common/args';
import { describeMachine, loadAverage } from '../common/machine';
import { dataFile, reportsDir } from '../common/paths';
import { markdownTable, writeReport } from '../common/report';

const USAGE = `Usage: npm run bench:gallery -- [options]   (node dist/tools/bench/gallery.js [options])
  --rounds N   page opens measured (default 5, after one warm-up)
  --images N   images in the gallery (default 500)
  --out DIR    where gallery-bench.md and gallery-bench.json go (default <repo>/reports)`;

// The browser's globals, as the page.waitForFunction callbacks use them (no DOM library in the tools' TypeScript).
// biome-ignore lint/suspicious/noExplicitAny: checked by the browser that runs them
declare const document: any, window: any;

const CHROMIUM = process.env.FACEPIPE_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'fpa1.bench-gallery-token-not-secret-0123456789';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

/**
 * CPU milliseconds used so far by every process descending from this one (the browser's: its main process, renderers,
 * GPU and network services), from /proc (Linux): the work the page costs, whatever else shares the cores.
 */
function descendantsCpuMs(): number {
  const parents = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, inside parentheses): state, ppid, …, utime (14), stime (15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at))
      if (at === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, used] of ticks) if (isDescendant(pid)) total += used;
  return (total * 1000) / 100; // USER_HZ is 100 on Linux
}

function photos(): string[] {
  const root = dataFile('detection', 'wider_face_val_subset', 'images');
  const found: string[] = [];
  for (const folder of fs.readdirSync(root).sort()) {
    for (const file of fs.readdirSync(path.join(root, folder)).sort()) {
      if (file.endsWith('.jpg')) found.push(path.join(root, folder, file));
    }
  }
  return found;
}

/** Stores `count` images as the pipeline would have: upload, thumbnail, a done record, newest last. */
async function fillGallery(pipeline: LocalPipeline, count: number, thumbnailSize: number): Promise<void> {
  const sources = photos();
  const thumbnails = new Map<string, { bytes: Buffer; width: number; height: number }>();
  const start = Date.parse('2026-11-01T08:00:00Z');
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length] as string;
    const bytes = fs.readFileSync(source);
    let thumbnail = thumbnails.get(source);
    if (!thumbnail) {
      const meta = await sharp(bytes).metadata();
      thumbnail = {
        bytes: await sharp(bytes)
          .resize(thumbnailSize, thumbnailSize, { fit: 'inside' })
          .jpeg({ quality: 80 })
          .toBuffer(),
        width: meta.width ?? 0,
        height: meta.height ?? 0,
      };
      thumbnails.set(source, thumbnail);
    }
    const key = `bench/${String(i).padStart(4, '0')}-${path.basename(source)}`;
    const stored = await pipeline.store.put(pipeline.buckets.ingest, key, bytes, 'image/jpeg');
    const imageId = imageIdOf(pipeline.buckets.ingest, key);
    const thumbnailKey = imageThumbnailKeyOf(imageId, stored.etag, 'jpg');
    await pipeline.store.put(pipeline.buckets.thumbnails, thumbnailKey, thumbnail.bytes, 'image/jpeg');
    const at = new Date(start + i * 60_000).toISOString();
    await pipeline.results.putImage({
      imageId,
      bucket: pipeline.buckets.ingest,
      key,
      etag: stored.etag,
      size: bytes.length,
      status: 'done',
      width: thumbnail.width,
      height: thumbnail.height,
      format: 'jpeg',
      faceCount: 0,
      thumbnailKey,
      createdAt: at,
      processedAt: at,
    });
  }
}

/** When (the page's clock) all tiles were in the page, and when every thumbnail of the first screen had loaded. */
async function pageReady(page: Page, count: number) {
  const tiles = await page.waitForFunction(
    (n) => (document.querySelectorAll('.tile').length === n ? window.performance.now() : 0),
    count,
    { polling: 'raf' },
  );
  const visible = await page.waitForFunction(
    () => {
      // The first 60 tiles hold the first screen (24 at 1280×900): checking all 500 every frame would itself cost a
      // layout per frame.
      const shown = [...document.querySelectorAll('.tile img')]
        .slice(0, 60)
        .filter(
          (img: { getBoundingClientRect(): { top: number } }) => img.getBoundingClientRect().top < window.innerHeight,
        );
      return shown.length > 0 &&
        shown.every((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0)
        ? { at: window.performance.now(), shown: shown.length }
        : 0;
    },
    undefined,
    { polling: 'raf' },
  );
  return {
    tiles: (await tiles.jsonValue()) as number,
    seen: (await visible.jsonValue()) as { at: number; shown: number },
  };
}

async function main() {
  const { values } = parseToolArgs({
    usage: USAGE,
    options: { rounds: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' } },
  });
  const rounds = integerOption(values.rounds, '--rounds', 5);
  const count = integerOption(values.images, '--images', 500);
  const out = pathOption(values.out, reportsDir);
  const config = loadConfig();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-bench-gallery-'));
  // With the models: the server reads its decode limits from them (none runs here).
  const pipeline = await LocalPipeline.open({ dataDir, config, consume: false });
  const sessions = new WebSessions(ADMIN_TOKEN);
  const server = await buildServer({ pipeline, adminToken: ADMIN_TOKEN, webSessions: sessions });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const filling = performance.now();
    await fillGallery(pipeline, count, config.thumbnail.size);
    process.stderr.write(`${count} images stored in ${((performance.now() - filling) / 1000).toFixed(1)} s\n`);
    const url = await server.listen({ port: 0, host: '127.0.0.1' });

    // The listing alone, as the page asks for it.
    const listing: number[] = [];
    const listingCpu: number[] = [];
    let listingCold = 0;
    for (let i = 0; i < rounds + 1; i++) {
      const started = performance.now();
      const usage = process.cpuUsage();
      const response = await fetch(`${url}/ui/api/images?limit=${count}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const body = (await response.json()) as { images: unknown[] };
      if (body.images.length !== count) throw new Error(`the listing has ${body.images.length} images`);
      const used = process.cpuUsage(usage);
      if (i === 0) listingCold = performance.now() - started;
      if (i > 0) {
        listing.push(performance.now() - started);
        listingCpu.push((used.user + used.system) / 1000);
      }
    }

    const opens: {
      tiles: number;
      visible: number;
      thumbnailsRequested: number;
      visibleTiles: number;
      /** CPU the server process spent meanwhile, and the page's main-thread task time (Chrome's TaskDuration). */
      serverCpu: number;
      browserTasks: number;
      browserCpu: number;
    }[] = [];
    const reopens: { tiles: number; visible: number }[] = [];
    for (let i = 0; i < rounds + 1; i++) {
      // A fresh context (empty cache) holding a gallery session, as after opening the login link.
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const session = sessions.redeemCode(sessions.loginCode()) as string;
      await context.addCookies([{ name: 'facepipe_ui', value: session, url, httpOnly: true, sameSite: 'Strict' }]);
      const page = await context.newPage();
      let thumbnailsRequested = 0;
      page.on('request', (request) => {
        if (request.url().includes('/ui/files/thumbnails/')) thumbnailsRequested++;
      });
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable');
      const usage = process.cpuUsage();
      const browserCpuBefore = descendantsCpuMs();
      await page.goto(`${url}/ui/#/images`);
      const { tiles, seen } = await pageReady(page, count);
      const used = process.cpuUsage(usage);
      const browserCpu = descendantsCpuMs() - browserCpuBefore;
      const metrics = (await cdp.send('Performance.getMetrics')).metrics;
      const browserTasks = (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
      if (i > 0) {
        opens.push({
          tiles,
          visible: seen.at,
          thumbnailsRequested,
          visibleTiles: seen.shown,
          serverCpu: (used.user + used.system) / 1000,
          browserTasks,
          browserCpu,
        });
      }
      // The same page opened again in the same tab (its script and thumbnails in the browser's cache, revalidated).
      await page.reload();
      const again = await pageReady(page, count);
      if (i > 0) reopens.push({ tiles: again.tiles, visible: again.seen.at });
      await context.close();
    }

    const sorted = (pick: (o: (typeof opens)[number]) => number) => opens.map(pick).sort((a, b) => a - b);
    const tiles = sorted((o) => o.tiles);
    const reopenTiles = reopens.map((o) => o.tiles).sort((a, b) => a - b);
    const reopenVisible = reopens.map((o) => o.visible).sort((a, b) => a - b);
    const visible = sorted((o) => o.visible);
    const listingSorted = listing.sort((a, b) => a - b);
    const listingCpuSorted = listingCpu.sort((a, b) => a - b);
    const serverCpu = sorted((o) => o.serverCpu);
    const browserTasks = sorted((o) => o.browserTasks);
    const browserCpu = sorted((o) => o.browserCpu);
    const summary = {
      images: count,
      rounds,
      /** The first listing after the server started: every record read from the table (later ones reuse them). */
      listingColdMs: listingCold,
      listingMs: { p50: percentile(listingSorted, 50), max: listingSorted.at(-1) },
      tilesMs: { p50: percentile(tiles, 50), max: tiles.at(-1) },
      reopenTilesMs: { p50: percentile(reopenTiles, 50), max: reopenTiles.at(-1) },
      reopenVisibleMs: { p50: percentile(reopenVisible, 50), max: reopenVisible.at(-1) },
      visibleMs: { p50: percentile(visible, 50), max: visible.at(-1) },
      listingCpuMs: { p50: percentile(listingCpuSorted, 50), max: listingCpuSorted.at(-1) },
      pageServerCpuMs: { p50: percentile(serverCpu, 50), max: serverCpu.at(-1) },
      pageBrowserCpuMs: { p50: percentile(browserCpu, 50), max: browserCpu.at(-1) },
      pageBrowserTaskMs: { p50: percentile(browserTasks, 50), max: browserTasks.at(-1) },
      thumbnailsRequested: opens.map((o) => o.thumbnailsRequested),
      visibleTiles: opens[0]?.visibleTiles,
      machine: describeMachine(),
      loadAverage: loadAverage(),
      chromium: browser.version(),
    };
    const ms = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));
    const markdown = [
      '# Web gallery: the images page with 500 images',
      '',
      `\`npm run bench:gallery\`: ${count} images (real photos, stored as the pipeline stores them), the images page`,
      `opened ${rounds} times in a fresh headless chromium context each (an empty cache, a session cookie set), 1280×900, against \`facepipe serve\`'s`,
      "server on loopback. Times are the page's own clock from the start of its navigation.",
      '',
      markdownTable(
        ['measure', 'p50 ms', 'max ms'],
        [
          [
            `GET /ui/api/images?limit=${count}, the first after the server started (the images-by-time index queried)`,
            ms(summary.listingColdMs),
            '',
          ],
          [
            `GET /ui/api/images?limit=${count} (the listing alone, again)`,
            ms(summary.listingMs.p50),
            ms(summary.listingMs.max),
          ],
          [`all ${count} tiles in the page`, ms(summary.tilesMs.p50), ms(summary.tilesMs.max)],
          ['every thumbnail of the first screen loaded', ms(summary.visibleMs.p50), ms(summary.visibleMs.max)],
          ['reopened in the same tab: all tiles', ms(summary.reopenTilesMs.p50), ms(summary.reopenTilesMs.max)],
          [
            'reopened in the same tab: first screen loaded',
            ms(summary.reopenVisibleMs.p50),
            ms(summary.reopenVisibleMs.max),
          ],
          ['CPU: the server answering the listing', ms(summary.listingCpuMs.p50), ms(summary.listingCpuMs.max)],
          [
            'CPU: the server during one page open (listing, assets, thumbnails)',
            ms(summary.pageServerCpuMs.p50),
            ms(summary.pageServerCpuMs.max),
          ],
          [
            'CPU: every chromium process during one open (from /proc)',
            ms(summary.pageBrowserCpuMs.p50),
            ms(summary.pageBrowserCpuMs.max),
          ],
          [
            "the page's main-thread task time during one open (Chrome's TaskDuration, wall time)",
            ms(summary.pageBrowserTaskMs.p50),
            ms(summary.pageBrowserTaskMs.max),
          ],
        ],
        ['left', 'right', 'right'],
      ),
      '',
      `Thumbnails requested by the time the first screen was complete: ${summary.thumbnailsRequested.join(', ')} of ${count}`,
      `(lazy loading; ${summary.visibleTiles} tiles are on the first screen).`,
      '',
      `Machine: ${summary.machine.cores} × ${summary.machine.cpu}, load average ${summary.loadAverage.toFixed(2)} (other`,
      `work shares the cores); chromium ${summary.chromium}. On a loaded machine the elapsed times mostly measure waiting`,
      'for a core; the CPU rows are the work itself (server and browser run at once on 2 cores, so an idle machine',
      'takes about the larger of the two, at most their sum).',
      '',
    ].join('\n');
    for (const file of writeReport(out, 'gallery-bench', { markdown, json: summary })) {
      process.stderr.write(`wrote ${file}\n`);
    }
    process.stdout.write(markdown);
  } finally {
    await browser.close();
    await server.close();
    await pipeline.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runTool('bench:gallery', main);
