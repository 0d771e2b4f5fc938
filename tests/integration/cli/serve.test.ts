import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { tempDataDir } from '../../helpers/localPipeline';
import { dataFile, modelMirror, repoRoot, testCache } from '../../helpers/testConfig';

/**
 * `facepipe serve` as a user runs it (the built CLI: `npm run build` first) on a free loopback port: devices enrolled
 * with `facepipe devices`, uploads with curl through the presigned form and with `facepipe push` (files, and frames of
 * a real video clip), results by long poll and as Server-Sent Events, `/analyze` equal to `facepipe analyze`, and the
 * refusals of bad tokens, other devices and the admin surface. Outcomes are polled for; nothing depends on timing.
 */

jest.setTimeout(300_000);

const cli = path.join(repoRoot, 'bin', 'facepipe.js');
const env = {
  ...process.env,
  FACEPIPE_MODEL_MIRROR: modelMirror,
  FACEPIPE_MODEL_CACHE: testCache,
  FACEPIPE_THREADS: '1',
};
const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const video = (name: string) => dataFile('video', name);

const dataDir = tempDataDir('serve');

function facepipe(...args: string[]) {
  const result = spawnSync('node', [cli, '--data-dir', dataDir, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function curl(...args: string[]) {
  const result = spawnSync('curl', ['-s', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const lines = result.stdout.split('\n');
  const status = Number(lines.pop());
  const text = lines.join('\n');
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers whose shape each assertion states
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (an empty 204)
  }
  return { status, body };
}

let server: ChildProcess | undefined;
let url = '';
let serverOutput = '';
const tokens: Record<string, string> = {};
/** The faces the pipeline stored for obama_and_biden.jpg (the curl test), to compare /analyze with. */
let pipelineFaces: { box: Record<string, number>; identity: { personId: string | null } }[] = [];

function addDevice(name: string, ...flags: string[]): string {
  const added = facepipe('devices', 'add', name, '--json', ...flags);
  expect(added.code).toBe(0);
  const token = JSON.parse(added.stdout).token as string;
  tokens[name] = token;
  return token;
}

beforeAll(async () => {
  // Prepare: people and devices first (the table is the server's while it runs).
  expect(
    facepipe(
      'people',
      'add',
      'obama',
      '--name',
      'Barack Obama',
      '--details',
      '{"team":"blue"}',
      knn('train', 'obama', 'obama.jpg'),
    ).code,
  ).toBe(0);
  expect(facepipe('people', 'add', 'biden', '--name', 'Joe Biden', knn('train', 'biden', 'biden.jpg')).code).toBe(0);
  addDevice('pi-door');
  addDevice('pi-garden', '--prefix', 'north');
  addDevice('kiosk', '--can', 'analyse');
  server = spawn('node', [cli, '--data-dir', dataDir, 'serve', '--port', '0', '--sightings'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    serverOutput += chunk.toString();
  });
  for (let i = 0; i < 1200 && !url; i++) {
    url = /listening on (http:\/\/\S+)/.exec(serverOutput)?.[1] ?? '';
    if (server.exitCode !== null) throw new Error(`facepipe serve exited: ${serverOutput}`);
    if (!url) await new Promise((r) => setTimeout(r, 100));
  }
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGINT');
    await exited;
  }
  // Assess: the server never printed a token.
  for (const token of Object.values(tokens)) expect(serverOutput).not.toContain(token.split('.').pop());
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const bearer = (name: string) => ['-H', `authorization: Bearer ${tokens[name]}`];
const admin = () => [
  '-H',
  `authorization: Bearer ${fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim()}`,
];

/** The presigned form of an answer of POST /uploads, as curl -F arguments, with a file. */
function formArgs(upload: { fields: Record<string, string> }, file: string, type = 'image/jpeg'): string[] {
  return [
    ...Object.entries(upload.fields).flatMap(([k, v]) => ['-F', `${k}=${v}`]),
    '-F',
    `file=@${file};type=${type}`,
  ];
}

describe('facepipe serve', () => {
  test('the admin token file is the owner’s only', () => {
    expect(fs.statSync(path.join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
  });

  test('curl: POST /uploads, the presigned form, GET /uploads/{id}?wait= → the enrolled person, and a sighting event', async () => {
    // Prepare: listen to the device's sightings.
    const events: string[] = [];
    const stream = await new Promise<http.IncomingMessage>((resolve) => {
      http.get(`${url}/events`, { headers: { authorization: `Bearer ${tokens['pi-door']}` } }, resolve);
    });
    stream.on('data', (chunk: Buffer) => events.push(chunk.toString()));

    // Act
    const started = performance.now();
    const ticket = curl(
      '-X',
      'POST',
      ...bearer('pi-door'),
      '-H',
      'content-type: application/json',
      '-d',
      '{"contentType":"image/jpeg"}',
      `${url}/uploads`,
    );
    const posted = curl(...formArgs(ticket.body.upload, knn('test', 'obama_and_biden.jpg')), ticket.body.upload.url);
    let results = curl(...bearer('pi-door'), `${ticket.body.results}?wait=20`);
    while (results.body.status === 'processing') results = curl(...bearer('pi-door'), `${ticket.body.results}?wait=20`);
    const took = performance.now() - started;

    // Assess
    expect(ticket.status).toBe(201);
    expect(ticket.body.key).toMatch(/^devices\/pi-door\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.jpg$/);
    expect(ticket.body.upload.url).toBe(`${url}/local-uploads`);
    expect(posted.status).toBe(204);
    expect(results.status).toBe(200);
    expect(results.body.status).toBe('done');
    const people = results.body.faces.map(
      (f: { identity: { personId: string | null } }) => f.identity.personId ?? 'unknown',
    );
    expect(people.sort()).toEqual(['biden', 'obama', 'unknown']);
    const obama = results.body.faces.find((f: { identity: { personId: string } }) => f.identity.personId === 'obama');
    expect(obama.identity).toMatchObject({ name: 'Barack Obama', details: { team: 'blue' } });
    expect(obama.emotion.label).toEqual(expect.any(String));
    pipelineFaces = results.body.faces;
    console.log(`local upload → results (curl, 3 faces): ${took.toFixed(0)} ms`);
    for (let i = 0; i < 100 && !events.join('').includes(ticket.body.imageId); i++)
      await new Promise((r) => setTimeout(r, 100));
    stream.destroy();
    const sighting = JSON.parse(/data: (.*)\n/.exec(events.join(''))?.[1] ?? '{}');
    expect(sighting).toMatchObject({ type: 'sighting', imageId: ticket.body.imageId, device: 'pi-door' });
    expect(
      sighting.faces.map((f: { person: { personId: string } | null }) => f.person?.personId ?? 'unknown').sort(),
    ).toEqual(['biden', 'obama', 'unknown']);
    // --sightings prints the same sighting as a line (the watch loop's, as `facepipe watch --sightings`).
    const line = new RegExp(`seen in ${ticket.body.key} \\[device pi-door\\]: .*Barack Obama \\(obama\\) 0\\.\\d\\d`);
    for (let i = 0; i < 100 && !line.test(serverOutput); i++) await new Promise((r) => setTimeout(r, 100));
    expect(serverOutput).toMatch(line);
  });

  test('uploads outside the policy fail: another key, another type, too large, a forged signature', () => {
    // Prepare
    const ticket = curl('-X', 'POST', ...bearer('pi-garden'), `${url}/uploads`).body;
    const big = path.join(dataDir, 'big.jpg');
    fs.writeFileSync(big, Buffer.concat([fs.readFileSync(knn('test', 'obama1.jpg')), Buffer.alloc(21 * 1024 * 1024)]));
    const photo = knn('test', 'obama1.jpg');
    // Act, Assess
    expect(ticket.key).toMatch(/^devices\/pi-garden\/north\//);
    const otherKey = { fields: { ...ticket.upload.fields, key: 'devices/pi-door/mine.jpg' } };
    expect(curl(...formArgs(otherKey, photo), ticket.upload.url)).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    const png = { fields: { ...ticket.upload.fields, 'Content-Type': 'image/png' } };
    expect(curl(...formArgs(png, photo, 'image/png'), ticket.upload.url).status).toBe(403);
    const forged = { fields: { ...ticket.upload.fields, signature: 'x'.repeat(43) } };
    expect(curl(...formArgs(forged, photo), ticket.upload.url).status).toBe(403);
    expect(curl(...formArgs(ticket.upload, big), ticket.upload.url)).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
    // The device still sees its upload as not there.
    expect(curl(...bearer('pi-garden'), `${url}/uploads/${ticket.imageId}`).body.status).toBe('awaiting-upload');
  });

  test('tokens: missing, wrong header, forged, other device, a device on admin routes, revoked and rotated at once', () => {
    const upload = curl('-X', 'POST', ...bearer('pi-door'), `${url}/uploads`).body;
    expect(curl('-X', 'POST', `${url}/uploads`).status).toBe(401);
    expect(curl('-X', 'POST', '-H', `x-api-key: ${tokens['pi-door']}`, `${url}/uploads`).status).toBe(401);
    expect(curl('-X', 'POST', '-H', `authorization: Bearer ${tokens['pi-door']}x`, `${url}/uploads`).status).toBe(401);
    expect(curl(...bearer('pi-garden'), `${url}/uploads/${upload.imageId}`)).toMatchObject({ status: 404 });
    expect(curl(...bearer('pi-door'), `${url}/people`)).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    expect(curl(...bearer('pi-door'), `${url}/faces?person=obama`).status).toBe(403);
    expect(curl('-X', 'POST', ...bearer('kiosk'), `${url}/uploads`).status).toBe(403);
    expect(curl(...admin(), `${url}/people`).body.people).toHaveLength(2);
    // Revoked and rotated through the admin routes while the server runs: the old tokens fail at once.
    const extra = curl(
      '-X',
      'POST',
      ...admin(),
      '-H',
      'content-type: application/json',
      '-d',
      '{"name":"temp"}',
      `${url}/devices`,
    );
    expect(extra.status).toBe(201);
    tokens.temp = extra.body.token;
    expect(curl('-X', 'POST', ...bearer('temp'), `${url}/uploads`).status).toBe(201);
    expect(curl('-X', 'DELETE', ...admin(), `${url}/devices/temp`).body.status).toBe('revoked');
    expect(curl('-X', 'POST', ...bearer('temp'), `${url}/uploads`).status).toBe(401);
    const rotated = curl('-X', 'POST', ...admin(), `${url}/devices/temp/token`).body;
    expect(curl('-X', 'POST', '-H', `authorization: Bearer ${rotated.token}`, `${url}/uploads`).status).toBe(201);
    tokens.temp2 = rotated.token;
  });

  test('serve holds the data directory as watch does: devices, people and store check work through it; run and watch are refused', () => {
    // Act
    const added = facepipe('devices', 'add', 'beside', '--json');
    const people = facepipe('people', 'list', '--json');
    const check = facepipe('store', 'check', '--json');
    const watch = facepipe('watch');
    const run = facepipe('run', knn('test', 'obama1.jpg'));

    // Assess: the device added beside the server works at once.
    expect(added.code).toBe(0);
    tokens.beside = JSON.parse(added.stdout).token;
    expect(curl('-X', 'POST', ...bearer('beside'), `${url}/uploads`).status).toBe(201);
    expect(people.stdout).toContain('"personId":"obama"');
    expect(JSON.parse(check.stdout)).toMatchObject({ problems: [], items: { people: 2 } });
    expect(JSON.parse(check.stdout).items.devices).toBeGreaterThanOrEqual(4);
    for (const refused of [watch, run]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('STORE_BUSY: Another facepipe is running on the data directory');
      expect(refused.stderr).toContain(`(facepipe serve, pid ${server?.pid})`);
    }
    expect(watch.stderr).toContain('It watches already');
  });

  test('POST /analyze answers what facepipe analyze and the pipeline answer for the same photo', () => {
    // Prepare
    const photo = knn('test', 'obama_and_biden.jpg');
    const cliAnswer = JSON.parse(facepipe('analyze', '--json', photo).stdout);
    // Act
    const binary = curl(
      '-X',
      'POST',
      ...bearer('kiosk'),
      '-H',
      'content-type: image/jpeg',
      '--data-binary',
      `@${photo}`,
      `${url}/analyze`,
    );
    const form = curl('-X', 'POST', ...bearer('kiosk'), '-F', `image=@${photo}`, `${url}/analyze`);
    const stored = curl('-X', 'POST', ...bearer('kiosk'), '-F', `image=@${photo}`, `${url}/analyze?store=true`);
    const empty = curl(
      '-X',
      'POST',
      ...bearer('kiosk'),
      '-H',
      'content-type: image/jpeg',
      '--data-binary',
      '',
      `${url}/analyze`,
    );
    const text = curl(
      '-X',
      'POST',
      ...bearer('kiosk'),
      '-H',
      'content-type: image/jpeg',
      '--data-binary',
      'hello',
      `${url}/analyze`,
    );
    const big = path.join(dataDir, 'big-analyze.jpg');
    fs.writeFileSync(big, Buffer.alloc(4 * 1024 * 1024 + 1));
    const tooBig = curl(
      '-X',
      'POST',
      ...bearer('kiosk'),
      '-H',
      'content-type: image/jpeg',
      '--data-binary',
      `@${big}`,
      `${url}/analyze`,
    );
    // Assess
    expect(binary.status).toBe(200);
    expect(form.body).toMatchObject({ width: binary.body.width, faces: expect.any(Array) });
    expect(binary.body.faces).toHaveLength(cliAnswer.faces.length);
    binary.body.faces.forEach((face: { box: Record<string, number>; emotion: { label: string } }, i: number) => {
      const expected = cliAnswer.faces[i];
      for (const side of ['x', 'y', 'width', 'height'])
        expect(Math.abs((face.box[side] ?? 0) - expected.box[side])).toBeLessThanOrEqual(1);
      expect(face.emotion.label).toBe(expected.emotion.label);
    });
    const who = binary.body.faces.map(
      (f: { identity: { personId: string | null } }) => f.identity.personId ?? 'unknown',
    );
    expect(who.sort()).toEqual(['biden', 'obama', 'unknown']);
    // The pipeline (detect, then recognise) found the same faces, boxes within a pixel, with the same identities.
    expect(pipelineFaces).toHaveLength(binary.body.faces.length);
    for (const face of binary.body.faces as typeof pipelineFaces) {
      const same = pipelineFaces.find((stored) =>
        ['x', 'y', 'width', 'height'].every(
          (side) => Math.abs((stored.box[side] ?? Number.NaN) - (face.box[side] ?? Number.NaN)) <= 1,
        ),
      );
      expect(same?.identity.personId).toBe(face.identity.personId);
    }
    expect(stored.status).toBe(403); // the kiosk may analyse, not upload
    expect(empty.body.error.code).toBe('EMPTY_FILE');
    expect(text).toMatchObject({ status: 422, body: { error: { code: 'UNSUPPORTED_FORMAT' } } });
    expect(tooBig).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
  });

  test('facepipe push: files, then a recorded video sampled every 0.5 s, prints who was seen', () => {
    // Act
    const files = spawnSync(
      'node',
      [cli, 'push', '--endpoint', url, knn('test', 'obama1.jpg'), knn('test', 'kit_with_rose.jpg')],
      {
        env: { ...env, FACEPIPE_DEVICE_TOKEN: tokens['pi-door'] },
        encoding: 'utf8',
      },
    );
    const clip = spawnSync(
      'node',
      [
        cli,
        'push',
        '--endpoint',
        url,
        '--token',
        tokens['pi-door'] as string,
        '--video',
        video('face_recognition_short_hamilton_clip.mp4'),
        '--every',
        '0.5s',
      ],
      { env, encoding: 'utf8' },
    );
    // Assess
    expect(files.status).toBe(0);
    expect(files.stdout).toContain('obama1.jpg: Barack Obama (obama)');
    expect(files.stdout).toMatch(/kit_with_rose\.jpg: unknown .*; unknown /);
    expect(clip.status).toBe(0);
    const frames = clip.stdout.split('\n').filter((line) => line.includes('.mp4 @'));
    expect(frames.length).toBeGreaterThanOrEqual(18); // 9.2 s of video, one frame every 0.5 s
    // Obama is in the audience shot at the end of the clip (video/SOURCE.md: 7.9-9.2 s). Small and soft there, his
    // face is found but may stay unknown under the open-set rule (named only at the 1:N threshold with a margin over
    // the runner-up and the quality gate: a stranger must never get a name); he is named in no other shot.
    const at = (line: string) => Number(/@(\d+\.\d+)s/.exec(line)?.[1]);
    const audience = frames.filter((line) => at(line) >= 7.9);
    expect(audience.length).toBeGreaterThanOrEqual(2);
    expect(audience.some((line) => !line.includes('nobody'))).toBe(true);
    const seen = frames.filter((line) => line.includes('Barack Obama (obama)')).map(at);
    for (const when of seen) expect(when).toBeGreaterThanOrEqual(7.5);
    if (seen.length > 0) expect(clip.stdout).toMatch(/seen: Barack Obama \(obama\) in \d+ image\(s\)/);
  });
});
