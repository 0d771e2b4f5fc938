import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { adminCall, launchChromium, type RunningServe, SCREENSHOTS, startServe } from '../../helpers/browser';
import { tempDataDir } from '../../helpers/localPipeline';
import { dataFile, modelMirror, testCache } from '../../helpers/testConfig';

/**
 * The web gallery in Debian's chromium (playwright-core), on `facepipe serve` from the built CLI (`npm run build`
 * first), on real photos: log in with the one-time link, enrol a person, upload photos and see them arrive live, the
 * face boxes and landmarks where the API says the faces are, "not this person", name a cluster, search by a dropped
 * photo, edit a person, the emotion chart, erase an image and a person. Every page is screenshotted into
 * test-output/screenshots. Outcomes are waited for (the pipeline's pace varies), never timed.
 */

jest.setTimeout(420_000);

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const UPLOADS = [
  knn('test', 'obama_and_biden.jpg'),
  knn('test', 'obama1.jpg'),
  knn('test', 'kit_with_rose.jpg'),
  knn('test', 'johnsnow_test1.jpg'),
  knn('train', 'kit_harington', 'john1.jpeg'),
  knn('train', 'kit_harington', 'john2.jpeg'),
  knn('train', 'biden', 'biden.jpg'),
];
const env = {
  ...process.env,
  FACEPIPE_MODEL_MIRROR: modelMirror,
  FACEPIPE_MODEL_CACHE: testCache,
  FACEPIPE_THREADS: '1',
};

// biome-ignore lint/suspicious/noExplicitAny: JSON answers whose shape each assertion states
type Json = any;

// The browser's globals, as the page.evaluate callbacks use them (the tests' TypeScript has no DOM library: it would
// change Node's own types for every test).
// biome-ignore lint/suspicious/noExplicitAny: checked by the browser that runs them
declare const document: any, window: any, location: any, DataTransfer: any, DragEvent: any;

const dataDir = tempDataDir('gallery');
let serve: RunningServe;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let adminToken = '';

const api = (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> =>
  adminCall(serve, adminToken, method, route, body);

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);
const listed = async (): Promise<Json[]> => (await api('GET', '/ui/api/images?limit=1000')).body.images;
const imageNamed = async (name: string): Promise<Json> => {
  const image = (await listed()).find((i) => i.key.endsWith(`-${name}`));
  if (!image) throw new Error(`no image ${name}`);
  return image;
};

beforeAll(async () => {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  serve = await startServe(dataDir, env);
  adminToken = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the web gallery', () => {
  test('the one-time login link gives an HttpOnly, SameSite=Strict session; the link works once; no session, no data', async () => {
    // Without a session: the gallery's data and the API refuse.
    const before = await page.request.get(`${serve.url}/ui/api/images`);
    expect(before.status()).toBe(401);

    await page.goto(serve.loginLink);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'facepipe_ui', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const csp = (await page.request.get(`${serve.url}/ui/`)).headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");

    // The same link again, in a fresh browser context: the login form, no session.
    const other = await browser.newContext();
    const again = await other.newPage();
    await again.goto(serve.loginLink);
    expect(new URL(again.url()).pathname).toBe('/ui/login');
    expect(await other.cookies()).toEqual([]);
    await other.close();

    // The session reads, but a change without the gallery's header is refused (and changes nothing).
    expect((await page.request.get(`${serve.url}/people`)).status()).toBe(200);
    const forged = await page.request.post(`${serve.url}/people`, {
      data: { personId: 'x', name: 'X', photos: [] },
      headers: { 'content-type': 'application/json' },
    });
    expect(forged.status()).toBe(401);
  });

  test('enrol a person from the People page with two photos', async () => {
    await page.goto(`${serve.url}/ui/#/people`);
    await page.fill('input[name=personId]', 'obama');
    await page.fill('input[name=name]', 'Barack Obama');
    await page.fill('textarea[name=details]', '{"team": "blue"}');
    await page.setInputFiles('form.enrol input[name=photos]', [
      knn('train', 'obama', 'obama.jpg'),
      knn('train', 'obama', 'obama2.jpg'),
    ]);
    await page.click('form.enrol button[type=submit]');
    await page.getByRole('link', { name: 'Barack Obama' }).waitFor({ timeout: 120_000 });
    await shot('people');

    const person = await api('GET', '/people/obama');
    expect(person.status).toBe(200);
    expect(person.body).toMatchObject({ name: 'Barack Obama', details: { team: 'blue' }, enrolledPhotos: 2 });
    expect(person.body.enrolmentPhotos).toEqual(['obama.jpg', 'obama2.jpg']);
  });

  test('upload photos from the Images page; they appear analysed without a reload (live events)', async () => {
    await page.goto(`${serve.url}/ui/#/images`);
    await page.waitForSelector('.live.on');
    // A marker on the window: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await page.setInputFiles('input[name=upload]', UPLOADS);
    await page.waitForFunction((n) => document.querySelectorAll('.tile.done').length === n, UPLOADS.length, {
      timeout: 300_000,
    });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // The grid is the API's listing, newest first, each tile with its thumbnail.
    const images = await listed();
    expect(images.map((i) => fileName(i.key).replace(/^\d+-/, '')).sort()).toEqual(
      UPLOADS.map((f) => path.basename(f)).sort(),
    );
    const tiles = await page.$$eval('.tile a', (links) => links.map((a) => a.getAttribute('href')));
    expect(tiles).toEqual(images.map((i) => `#/image/${i.imageId}`));
    const times = images.map((i) => i.at);
    expect([...times].sort().reverse()).toEqual(times);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.tile img')].every((img) => img.complete && img.naturalWidth > 0),
    );
    await shot('images');

    // Filters: the person's photos only.
    await page.selectOption('select[name=person]', 'obama');
    await page.click('.toolbar button[type=submit]');
    await page.waitForFunction(() => location.hash.includes('person=obama'));
    await page.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
    const obamaTiles = await page.$$eval('.tile a', (links) => links.map((a) => a.getAttribute('title')));
    expect(obamaTiles.map((k) => (k ?? '').replace(/^.*\/\d+-/, '')).sort()).toEqual([
      'obama1.jpg',
      'obama_and_biden.jpg',
    ]);
  });

  test('the image page draws each face box and landmark where the API says the face is', async () => {
    const image = await imageNamed('obama_and_biden.jpg');
    // Keyboard: focus the tile and press Enter.
    await page.goto(`${serve.url}/ui/#/images`);
    await page.waitForFunction((n) => document.querySelectorAll('.tile').length === n, UPLOADS.length);
    await page.focus(`.tile a[href="#/image/${image.imageId}"]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash === `#/image/${id}`, image.imageId);
    const answer = (await api('GET', `/images/${image.imageId}`)).body;
    expect(answer.faces.length).toBeGreaterThanOrEqual(2);
    await page.waitForFunction((n) => document.querySelectorAll('.face-box').length === n, answer.faces.length);
    await page.waitForFunction(() => {
      const img = document.querySelector('.photo img');
      return img?.complete === true && img.naturalWidth > 0;
    });
    const photo = await page.$eval('.photo img', (img) => {
      const r = img.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    });
    const scale = photo.width / answer.image.width;
    expect(photo.height / answer.image.height).toBeCloseTo(scale, 3);
    for (const face of answer.faces) {
      const box = await page.$eval(`.face-box[data-face-id="${face.faceId}"]`, (el) => {
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      });
      expect(Math.abs(box.x - (photo.x + face.box.x * scale))).toBeLessThan(1);
      expect(Math.abs(box.y - (photo.y + face.box.y * scale))).toBeLessThan(1);
      expect(Math.abs(box.width - face.box.width * scale)).toBeLessThan(1);
      expect(Math.abs(box.height - face.box.height * scale)).toBeLessThan(1);
      const points = await page.$$eval(`circle.landmark[data-face-id="${face.faceId}"]`, (circles) =>
        circles.map((c) => {
          const r = c.getBoundingClientRect();
          return [r.x + r.width / 2, r.y + r.height / 2];
        }),
      );
      expect(points).toHaveLength(face.landmarks.length);
      face.landmarks.forEach(([x, y]: [number, number], i: number) => {
        const [px, py] = points[i] as number[];
        expect(Math.abs((px as number) - (photo.x + x * scale))).toBeLessThan(1);
        expect(Math.abs((py as number) - (photo.y + y * scale))).toBeLessThan(1);
      });
    }
    // Each face's panel: its crop, identity and emotions, as the API has them.
    const obama = answer.faces.find((f: Json) => f.identity?.personId === 'obama');
    expect(obama).toBeDefined();
    const panel = page.locator(`li.face[id="face-${obama.faceId}"]`);
    await expect(panel.locator('.identity').textContent()).resolves.toBe('Barack Obama');
    await expect(panel.locator('.similarity').textContent()).resolves.toContain(obama.identity.similarity.toFixed(2));
    expect(await panel.locator('dl.emotions > div').count()).toBe(7);
    await shot('image');

    // Phone-sized: the picture fits the screen, the boxes stay on the faces.
    await page.setViewportSize({ width: 390, height: 844 });
    const narrow = await page.$eval('.photo img', (img) => img.getBoundingClientRect().width);
    expect(narrow).toBeLessThanOrEqual(390);
    const first = answer.faces[0];
    const [img, box] = await Promise.all([
      page.$eval('.photo img', (el) => el.getBoundingClientRect().x),
      page.$eval(`.face-box[data-face-id="${first.faceId}"]`, (el) => el.getBoundingClientRect().x),
    ]);
    expect(Math.abs(box - (img + first.box.x * (narrow / answer.image.width)))).toBeLessThan(1);
    await shot('image-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('"not this person": reject a recognised face, and undo puts it back', async () => {
    const image = await imageNamed('obama1.jpg');
    await page.goto(`${serve.url}/ui/#/image/${image.imageId}`);
    const [face] = (await api('GET', `/images/${image.imageId}`)).body.faces;
    expect(face.identity.personId).toBe('obama');
    await page.click(`li.face[id="face-${face.faceId}"] button.reject`);
    await page.waitForFunction(
      (id) => document.querySelector(`li.face[id="face-${id}"] .identity`)?.textContent?.trim() === 'unknown',
      face.faceId,
    );
    const after = (await api('GET', `/images/${image.imageId}`)).body.faces[0];
    expect(after.identity.personId).toBeNull();
    const obamaFaces = (await api('GET', '/faces?person=obama')).body.faces.map((f: Json) => f.faceId);
    expect(obamaFaces).not.toContain(face.faceId);

    await page.click('#notice button.undo');
    await page.waitForFunction(
      (id) => document.querySelector(`li.face[id="face-${id}"] .identity`)?.textContent?.trim() === 'Barack Obama',
      face.faceId,
    );
    expect((await api('GET', `/images/${image.imageId}`)).body.faces[0].identity.personId).toBe('obama');
  });

  test('name a cluster of unknown faces from the Unknown faces page', async () => {
    // The cluster holding the face of john1.jpeg (Kit Harington, who is not enrolled).
    const john1 = await imageNamed('john1.jpeg');
    const clusters = (await api('GET', '/clusters?limit=1000')).body.clusters as Json[];
    expect(clusters.length).toBeGreaterThan(0);
    let target: Json;
    for (const cluster of clusters) {
      const shown = (await api('GET', `/clusters/${cluster.clusterId}?limit=100`)).body;
      if (shown.faces.some((f: Json) => f.faceId.startsWith(john1.imageId))) target = shown;
    }
    expect(target).toBeDefined();
    const members = target.faces.map((f: Json) => f.faceId).sort();

    await page.goto(`${serve.url}/ui/#/unknown`);
    const row = page.locator(`li.cluster[data-cluster-id="${target.clusterId}"]`);
    await row.waitFor();
    // Biggest first.
    const sizes = await page.$$eval('li.cluster h2', (hs) => hs.map((h) => Number.parseInt(h.textContent ?? '', 10)));
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
    await shot('unknown');
    await row.locator('input[name=personId]').fill('kit');
    await row.locator('input[name=name]').fill('Kit Harington');
    await row.getByRole('button', { name: 'Name this group' }).click();
    await row.waitFor({ state: 'detached' });

    const kit = await api('GET', '/people/kit');
    expect(kit.status).toBe(200);
    expect(kit.body.name).toBe('Kit Harington');
    const kitFaces = (await api('GET', '/faces?person=kit&limit=100')).body.faces.map((f: Json) => f.faceId);
    for (const faceId of members) expect(kitFaces).toContain(faceId);
  });

  test('search by a dropped photo shows the faces the API finds, most alike first', async () => {
    await page.goto(`${serve.url}/ui/#/search`);
    const photo = knn('train', 'obama', 'obama2.jpg');
    const data = fs.readFileSync(photo).toString('base64');
    // A real drop: a DataTransfer with the file, dropped on the drop zone.
    await page.evaluate(async (base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'obama2.jpg', { type: 'image/jpeg' }));
      document
        .querySelector('.dropzone')
        ?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
    }, data);
    await page.waitForSelector('li.hit', { timeout: 120_000 });
    const shown = await page.$$eval('li.hit', (hits) => hits.map((h) => h.getAttribute('data-face-id')));
    const answer = (await api('POST', '/search', { photo: { name: 'obama2.jpg', data }, limit: 24 })).body;
    expect(shown).toEqual(answer.hits.map((h: Json) => h.face.faceId));
    const [best] = answer.hits;
    expect(['obama1.jpg', 'obama_and_biden.jpg']).toContain(fileName(best.face.image).replace(/^\d+-/, ''));
    expect(best.similarity).toBeGreaterThan(answer.hits[answer.hits.length - 1].similarity);
    await shot('search');
  });

  test('edit a person’s details; the emotion chart counts every face with an emotion', async () => {
    await page.goto(`${serve.url}/ui/#/people/obama`);
    await page.waitForSelector('form.details');
    await page.fill('form.details textarea[name=details]', '{"team": "red", "desk": 4}');
    await page.click('form.details button[type=submit]');
    await page.waitForFunction(() => document.getElementById('notice')?.textContent?.startsWith('Saved'));
    expect((await api('GET', '/people/obama')).body.details).toEqual({ team: 'red', desk: 4 });
    await page.waitForSelector('.strip img');
    await shot('person');

    await page.goto(`${serve.url}/ui/#/emotions`);
    await page.waitForSelector('.emotion-table tbody tr');
    const cells = await page.$$eval('.emotion-table tbody td', (tds) => tds.map((td) => Number(td.textContent)));
    let expected = 0;
    for (const label of ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised']) {
      expected += (await api('GET', `/faces?emotion=${label}&limit=1000`)).body.faces.length;
    }
    expect(cells.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(await page.locator('.chart rect').count()).toBeGreaterThan(0);
    await shot('emotions');
  });

  test('erase an image and a person, each after a confirmation that says what goes', async () => {
    const image = await imageNamed('kit_with_rose.jpg');
    const faces = (await api('GET', `/images/${image.imageId}`)).body.faces;
    await page.goto(`${serve.url}/ui/#/image/${image.imageId}`);
    await page.click('button.danger');
    const dialog = page.locator('dialog.confirm');
    await expect(dialog.locator('h2').textContent()).resolves.toContain('kit_with_rose.jpg');
    await expect(dialog.textContent()).resolves.toContain(`${faces.length} face record(s)`);
    await shot('erase-confirmation');
    // Escape cancels: nothing is erased.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await api('GET', `/images/${image.imageId}`)).status).toBe(200);

    await page.click('button.danger');
    await dialog.locator('button.danger').click();
    await page.waitForFunction(() => location.hash === '#/images');
    expect((await api('GET', `/images/${image.imageId}`)).status).toBe(404);
    expect((await page.request.get(`${serve.url}/ui/files/images/${image.imageId}`)).status()).toBe(404);
    expect((await page.request.get(`${serve.url}/ui/files/crops/${faces[0].crop}`)).status()).toBe(404);
    await page.waitForFunction((id) => !document.querySelector(`.tile a[href="#/image/${id}"]`), image.imageId);

    // A person, with their faces.
    const obamaImages = new Set(
      (await api('GET', '/faces?person=obama')).body.faces.map((f: Json) => f.faceId.split('-')[0]),
    );
    await page.goto(`${serve.url}/ui/#/people/obama`);
    await page.waitForSelector('form.details');
    await page.getByRole('button', { name: 'Erase person and faces…' }).click();
    await expect(dialog.textContent()).resolves.toContain(`in ${obamaImages.size} image(s)`);
    await dialog.locator('button.danger').click();
    await page.waitForFunction(() => location.hash === '#/people');
    expect((await api('GET', '/people/obama')).status).toBe(404);
    expect((await api('GET', '/faces?person=obama')).body.faces).toEqual([]);
  });
});
