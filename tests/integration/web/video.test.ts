import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ffmpegBinary } from '../../../lib/vision/video/ffmpeg';
import { adminCall, launchChromium, type RunningServe, SCREENSHOTS, startServe } from '../../helpers/browser';
import { tempDataDir } from '../../helpers/localPipeline';
import { dataFile, modelMirror, testCache } from '../../helpers/testConfig';

/**
 * The gallery's video view in Debian's chromium, on `facepipe serve` from the built CLI (`npm run build` first), on a
 * real clip: the GRID sentence (3 s, one speaker facing the camera; the shortest clip with a face). The speaker is
 * enrolled first from two frames of the clip itself, so the track is named and "people seen" has someone in it. The
 * clip is uploaded from the Images page; its tile leads to the video page, which fills in without a reload when the
 * video is done. From the DOM against `GET /videos/{id}`: the tracks (order, span, faces, identity and agreeing share,
 * link to the person, best face), who was seen when, and the emotion chart's windows and counts per emotion; then
 * erasing the video from its page.
 */

jest.setTimeout(420_000);

const CLIP = dataFile('video', 'lipnet_grid_id2_vcd_swwp2s.mpg');
const env = {
  ...process.env,
  FACEPIPE_MODEL_MIRROR: modelMirror,
  FACEPIPE_MODEL_CACHE: testCache,
  FACEPIPE_THREADS: '1',
};

// biome-ignore lint/suspicious/noExplicitAny: JSON answers whose shape each assertion states
type Json = any;
// biome-ignore lint/suspicious/noExplicitAny: the browser's globals, checked by the browser that runs them
declare const document: any, window: any, location: any;

const EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];
const dataDir = tempDataDir('gallery-video');
let serve: RunningServe;
let browser: Browser;
let page: Page;
let adminToken = '';

const api = (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> =>
  adminCall(serve, adminToken, method, route, body);

/** A frame of the clip as a JPEG, by ffmpeg (the enrolment photos of its speaker). */
function frameOf(at: number): string {
  const file = path.join(dataDir, `frame-${at}.jpg`);
  execFileSync(ffmpegBinary().path, ['-v', 'error', '-ss', String(at), '-i', CLIP, '-frames:v', '1', '-y', file]);
  return file;
}

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
const seconds = (at: number) => `${at.toFixed(1)} s`;

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  serve = await startServe(dataDir, env);
  adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(serve.loginLink);
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the gallery’s video view', () => {
  test('a clip uploaded from the Images page shows as a video tile; its page shows its tracks, who was seen when and its emotions over time, as the API has them', async () => {
    // Prepare: the speaker enrolled from two frames of the clip.
    const photos = [frameOf(0.4), frameOf(2.2)].map((file) => ({
      name: path.basename(file),
      data: fs.readFileSync(file).toString('base64'),
    }));
    const enrolled = await api('POST', '/people', { personId: 'speaker', name: 'GRID speaker', photos });
    expect(enrolled.status).toBe(201);

    // Act: upload the clip; open its tile with the keyboard while it may still be analysed.
    await page.goto(`${serve.url}/ui/#/images`);
    await page.waitForSelector('.live.on');
    await page.evaluate(() => {
      window.notReloaded = true;
      window.videoEvents = [];
      window.addEventListener('facepipe-video', (event: Json) => window.videoEvents.push(event.detail));
    });
    await page.setInputFiles('input[name=upload]', [CLIP]);
    const tile = page.locator('.tile.video a');
    await tile.waitFor({ timeout: 120_000 });
    const href = (await tile.getAttribute('href')) ?? '';
    expect(href).toMatch(/^#\/video\/[0-9a-f]{24}$/);
    const videoId = href.slice('#/video/'.length);
    await tile.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash === `#/video/${id}`, videoId);

    // Live: the tracks appear when the video is done, without a reload.
    await page.waitForSelector('li.track', { timeout: 300_000 });
    expect(await page.evaluate(() => window.notReloaded)).toBe(true);
    // The server's event stream said so (a video is done after its frames' sightings: they cannot tell).
    expect(await page.evaluate(() => window.videoEvents)).toEqual([
      { videoId, key: expect.stringMatching(/^gallery\/.*-lipnet_grid_id2_vcd_swwp2s\.mpg$/), status: 'done' },
    ]);
    const answer = (await api('GET', `/videos/${videoId}`)).body;
    expect(answer.video).toMatchObject({ status: 'done', imageId: videoId });
    expect(answer.video.image).toMatch(/lipnet_grid_id2_vcd_swwp2s\.mpg$/);

    // Assess: the tracks, in the API's order, each as the API has it.
    const { tracks, summary } = answer;
    expect(tracks.length).toBeGreaterThanOrEqual(1);
    expect(await page.$$eval('li.track', (items) => items.map((li) => li.getAttribute('data-track-id')))).toEqual(
      tracks.map((t: Json) => t.trackId),
    );
    for (const track of tracks) {
      const item = page.locator(`li.track[data-track-id="${track.trackId}"]`);
      await expect(item.locator('.span').textContent()).resolves.toBe(
        `${seconds(track.firstSeen)} – ${seconds(track.lastSeen)}`,
      );
      await expect(item.locator('.face-count').textContent()).resolves.toBe(`${track.faces} face(s)`);
      if (track.identity.personId) {
        await expect(item.locator('a.identity').getAttribute('href')).resolves.toBe(
          `#/people/${track.identity.personId}`,
        );
        await expect(item.locator('a.identity').textContent()).resolves.toBe(track.identity.name);
        await expect(item.locator('.agreement').textContent()).resolves.toContain(
          `${track.identity.votes} of ${track.faces} faces agree (${Math.round(track.identity.share * 100)}%)`,
        );
      } else {
        await expect(item.locator('.identity').textContent()).resolves.toBe('unknown');
      }
      // The best face's crop, loaded through the gallery's file route.
      expect(await item.locator('img.crop').getAttribute('src')).toBe(`/ui/files/crops/${track.bestFace.crop}`);
    }
    await page.waitForFunction(() =>
      [...document.querySelectorAll('li.track img.crop')].every((img) => img.complete && img.naturalWidth > 0),
    );
    // The speaker faces the camera all through: one track, named by most of its faces.
    expect(tracks[0].identity).toMatchObject({ personId: 'speaker', name: 'GRID speaker' });
    expect(tracks[0].identity.share).toBeGreaterThan(0.5);

    // Who was seen when.
    expect(summary.people.map((p: Json) => p.personId)).toEqual(['speaker']);
    const seen = await page.$$eval('ul.seen > li', (items) =>
      items.map((li) => ({
        personId: li.getAttribute('data-person-id'),
        link: li.querySelector('a')?.getAttribute('href'),
        text: li.querySelector('.meta')?.textContent?.replace(/\s+/g, ' ').trim(),
        bars: li.querySelectorAll('svg.timeline rect.on').length,
      })),
    );
    expect(seen).toEqual(
      summary.people.map((p: Json) => ({
        personId: p.personId,
        link: `#/people/${p.personId}`,
        text: `${seconds(p.seconds)} on screen in ${p.tracks} track(s): ${p.intervals
          .map((i: Json) => `${seconds(i.from)}–${seconds(i.to)}`)
          .join(', ')}`,
        bars: p.intervals.length,
      })),
    );

    // The emotion chart: one bar and one table row per window, the counts per emotion and the visible faces.
    const windows = summary.emotions as Json[];
    expect(windows.length).toBeGreaterThanOrEqual(3); // 3 s of video, windows of at most a second
    expect(await page.locator('.chart g.bar').count()).toBe(windows.length);
    const rows = await page.$$eval('.emotion-table tbody tr', (trs) =>
      trs.map((tr) => ({
        label: tr.querySelector('th')?.textContent?.trim(),
        counts: Object.fromEntries(
          [...tr.querySelectorAll('td[data-emotion]')].map((td) => [
            td.getAttribute('data-emotion'),
            Number(td.textContent),
          ]),
        ),
        faces: Number(tr.querySelector('td.faces')?.textContent),
      })),
    );
    expect(rows).toEqual(
      windows.map((w) => ({
        label: seconds(w.at),
        counts: Object.fromEntries(EMOTIONS.map((l) => [l, w.emotions[l] ?? 0])),
        faces: w.faces,
      })),
    );
    const barSegments = await page.locator('.chart rect[data-emotion]').count();
    expect(barSegments).toBe(windows.reduce((n, w) => n + EMOTIONS.filter((l) => (w.emotions[l] ?? 0) > 0).length, 0));
    await shot('video');

    // The tile: the first track's best face as its picture, the tracks counted.
    await page.goto(`${serve.url}/ui/#/images`);
    const done = page.locator(`.tile.video.done a[href="#/video/${videoId}"]`);
    await done.waitFor();
    await expect(done.getAttribute('aria-label')).resolves.toContain(`video, done, ${tracks.length} track(s)`);
    expect(await done.locator('img').getAttribute('src')).toBe(`/ui/files/thumbnails/${tracks[0].bestFace.thumbnail}`);

    // Phone-sized: the page fits the screen; the best face links to its frame, whose picture the gallery serves.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${serve.url}/ui/#/video/${videoId}`);
    await page.waitForSelector('li.track');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('video-phone');
    const frameLink = (await page.locator('li.track a').first().getAttribute('href')) ?? '';
    const frameId = frameLink.slice('#/image/'.length);
    expect(frameId).toBe(tracks[0].bestFace.faceId.slice(0, tracks[0].bestFace.faceId.lastIndexOf('-')));
    const frame = await page.request.get(`${serve.url}/ui/files/images/${frameId}`);
    expect(frame.status()).toBe(200);
    expect(frame.headers()['content-type']).toBe('image/jpeg');
    // The video itself is not served as a picture.
    expect((await page.request.get(`${serve.url}/ui/files/images/${videoId}`)).status()).toBe(404);
    // The frame's page: the picture with its faces boxed, as for a photo.
    await page.click('li.track a[href^="#/image/"]');
    await page.waitForFunction((id) => location.hash === `#/image/${id}`, frameId);
    const frameFaces = (await api('GET', `/images/${frameId}`)).body.faces as Json[];
    expect(frameFaces.map((f) => f.faceId)).toContain(tracks[0].bestFace.faceId);
    await page.waitForFunction((n) => document.querySelectorAll('.face-box').length === n, frameFaces.length);
    await page.waitForFunction(() => {
      const img = document.querySelector('.photo img');
      return img?.complete === true && img.naturalWidth > 0;
    });
    await page.goBack();
    await page.waitForSelector('li.track');

    // Erase the video from its page, after a confirmation that says what goes: its frames, faces and tracks go too.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click('button.danger');
    const dialog = page.locator('dialog.confirm');
    await expect(dialog.textContent()).resolves.toContain(`its ${tracks.length} track(s) and its summary`);
    await expect(dialog.textContent()).resolves.toContain(`${answer.video.faces} face record(s)`);
    await shot('video-erase-confirmation');
    await dialog.locator('button.danger').click();
    await page.waitForFunction(() => location.hash === '#/images');
    expect((await api('GET', `/videos/${videoId}`)).status).toBe(404);
    expect((await page.request.get(`${serve.url}/ui/files/images/${frameId}`)).status()).toBe(404);
    expect((await page.request.get(`${serve.url}/ui/files/crops/${tracks[0].bestFace.crop}`)).status()).toBe(404);
    await page.waitForFunction((id) => !document.querySelector(`.tile a[href="#/video/${id}"]`), videoId);
  });
});
