import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { queryCommand } from '../../../cli/commands/query';
import { type RunSummary, runCommand } from '../../../cli/commands/run';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { capture, jsonLines } from '../../helpers/capture';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

const config = testConfig();
const photo = (name: string) => fs.readFileSync(dataFile('robustness', 'upstream', name));
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
/** The key a local file gets: its real path without the leading "/". */
const keyOf = (file: string) => keyOfRealPath(fs.realpathSync(file));

function write(file: string, bytes: Buffer): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

async function run(dataDir: string, ...inputs: string[]) {
  const { code, stdout, stderr } = await capture(() => runCommand(inputs, { dataDir, json: true }, config));
  return { code, summary: JSON.parse(stdout) as RunSummary, stderr };
}

async function ingestKeys(dataDir: string): Promise<string[]> {
  const pipeline = await openPipeline(dataDir, { consume: false });
  try {
    return (await pipeline.store.list('ingest')).map((o) => o.key).sort();
  } finally {
    await pipeline.close();
  }
}

async function storedImage(dataDir: string, key: string) {
  const pipeline = await openPipeline(dataDir, { consume: false });
  try {
    return await pipeline.results.getImage(imageIdOf('ingest', key));
  } finally {
    await pipeline.close();
  }
}

describe('local ingest keys', () => {
  const root = tempDataDir('run-keys');
  const [faceA, faceB, faceC] = [
    photo('face_recognition_obama-240p.jpg'),
    photo('face_recognition_obama_small.jpg'),
    photo('sharp_Landscape_1.jpg'),
  ] as [Buffer, Buffer, Buffer];

  it('never share a key between two different files of the same name in two folders, nor hard links', async () => {
    // Prepare
    const dataDir = path.join(root, 'collide');
    const a = write(path.join(root, 'a', 'img1.jpg'), faceA);
    const b = write(path.join(root, 'b', 'img1.jpg'), faceB);
    fs.mkdirSync(path.join(root, 'c'));
    fs.linkSync(a, path.join(root, 'c', 'img1-link.jpg'));

    // Act
    const first = await run(dataDir, path.join(root, 'a'));
    const second = await run(dataDir, `${path.join(root, 'b')}/`);
    const third = await run(dataDir, path.join(root, 'c'));

    // Assess: three keys, each with its own bytes; nothing replaced.
    for (const { summary } of [first, second, third]) {
      expect(summary).toMatchObject({ images: 1, uploaded: 1, done: 1, failed: 0, replaced: 0, replacedKeys: [] });
    }
    const keys = [keyOf(a), keyOf(b), keyOf(path.join(root, 'c', 'img1-link.jpg'))];
    expect(keys[0]).toBe(fs.realpathSync(a).slice(1));
    expect(await ingestKeys(dataDir)).toEqual([...keys].sort());
    expect(await storedImage(dataDir, keys[0] as string)).toMatchObject({ status: 'done', etag: md5(faceA) });
    expect(await storedImage(dataDir, keys[1] as string)).toMatchObject({ status: 'done', etag: md5(faceB) });
  });

  it('recognise one file named two ways: a subfolder, a symlink, "..", "." and doubled slashes', async () => {
    // Prepare
    const dataDir = path.join(root, 'same');
    const photos = path.join(root, 'photos');
    const p1 = write(path.join(photos, 'p1.jpg'), faceA);
    const p2 = write(path.join(photos, 'sub', 'p2.jpg'), faceB);
    fs.symlinkSync(photos, path.join(root, 'link-to-photos'));

    // Act
    const first = await run(dataDir, photos);
    const again = [
      await run(dataDir, path.join(photos, 'sub')),
      await run(dataDir, path.join(root, 'link-to-photos')),
      await run(dataDir, `${photos}/sub/../sub/./`),
      await run(dataDir, `${root}//photos//sub//p2.jpg`, path.join(root, 'link-to-photos', 'p1.jpg')),
      await run(dataDir, photos, path.join(photos, 'sub')),
    ];

    // Assess: two uploads, then only "already done", each file counted once.
    expect(first.summary).toMatchObject({ images: 2, uploaded: 2, done: 2 });
    expect(again.map(({ summary: s }) => [s.images, s.uploaded, s.skipped])).toEqual([
      [1, 0, 1],
      [2, 0, 2],
      [1, 0, 1],
      [2, 0, 2],
      [2, 0, 2],
    ]);
    expect(await ingestKeys(dataDir)).toEqual([keyOf(p1), keyOf(p2)].sort());
  });

  it('report a file that changed since it was processed as replaced, in the summary and by key', async () => {
    // Prepare
    const dataDir = path.join(root, 'changed');
    const folder = path.join(root, 'changing');
    write(path.join(folder, 'same.jpg'), faceA);
    const changing = write(path.join(folder, 'edited.jpg'), faceB);
    await run(dataDir, folder);
    write(changing, faceC);

    // Act
    const json = await run(dataDir, folder);
    const stored = await storedImage(dataDir, keyOf(changing));
    write(changing, faceA);
    const readable = await capture(() => runCommand([folder], { dataDir }, config));

    // Assess
    expect(json.summary).toMatchObject({
      images: 2,
      uploaded: 1,
      skipped: 1,
      replaced: 1,
      replacedKeys: [keyOf(changing)],
    });
    expect(stored).toMatchObject({ status: 'done', etag: md5(faceC) });
    expect(readable.stdout).toContain(`replaced the results of 1 changed file(s):\n  replaced: ${keyOf(changing)}\n`);
  });

  it('keep awkward names exactly (spaces, Unicode in NFC and NFD, "+", "%"), and --image finds them by file', async () => {
    // Prepare
    const dataDir = path.join(root, 'awkward');
    const folder = path.join(root, 'awkward names');
    const names = [
      'with space.jpg',
      'café ünï 写真 😀.jpg',
      'e\u0301.jpg',
      '\u00e9.jpg',
      'a+b.jpg',
      '100%.jpg',
      'a%20b.jpg',
    ];
    const pool = [faceA, faceB, faceC, ...[2, 3, 4, 5].map((i) => photo(`sharp_Landscape_${i}.jpg`))];
    for (const [i, name] of names.entries()) write(path.join(folder, name), pool[i] as Buffer);

    // Act
    const result = await run(dataDir, folder);

    // Assess
    expect(result.summary).toMatchObject({ images: names.length, done: names.length, failed: 0 });
    const expected = names.map((name) => `${keyOf(folder)}/${name}`);
    expect(await ingestKeys(dataDir)).toEqual([...expected].sort());
    for (const [i, name] of names.entries()) {
      const found = await capture(() => queryCommand({ image: path.join(folder, name), json: true, dataDir }, config));
      expect(jsonLines(found.stdout)[0]).toMatchObject({ image: expected[i], status: 'done' });
    }
  });

  it('keep the keys of files already in the ingest bucket folder, and say when results sit under old-style keys', async () => {
    // Prepare: a data directory from before, holding a photo under its old key (its name), and a dropped file.
    const dataDir = path.join(root, 'legacy');
    const folder = path.join(root, 'old photos');
    const file = write(path.join(folder, 'img1.jpg'), faceA);
    const dropped = write(path.join(dataDir, 'buckets', 'ingest', 'dropped', 'x y.jpg'), faceB);
    const pipeline = await openPipeline(dataDir);
    try {
      await pipeline.upload('img1.jpg', faceA);
      await pipeline.drained();
    } finally {
      await pipeline.close();
    }

    // Act
    const result = await run(dataDir, folder, path.dirname(dropped));

    // Assess
    expect(result.summary).toMatchObject({ images: 2, uploaded: 2, done: 2, failed: 0 });
    expect(await ingestKeys(dataDir)).toEqual(['dropped/x y.jpg', keyOf(file), 'img1.jpg'].sort());
    expect(result.stderr).toContain(
      `note: 1 of these file(s) were processed before under old-style keys (e.g. "img1.jpg", now "${keyOf(file)}")`,
    );
    const old = await capture(() => queryCommand({ image: 'img1.jpg', json: true, dataDir }, config));
    expect(jsonLines(old.stdout)[0]).toMatchObject({ image: 'img1.jpg', status: 'done' });
  });

  it('record a file whose path is longer than S3 takes (1024 bytes) as failed with INVALID_KEY, storing nothing', async () => {
    // Prepare: five folders of 250-byte names make a path well over 1024 bytes (each name fits the file system).
    const dataDir = path.join(root, 'long');
    const deep = path.join(root, 'deep', ...Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(249)}`));
    const file = write(path.join(deep, 'img.jpg'), faceA);
    expect(Buffer.byteLength(keyOf(file))).toBeGreaterThan(1024);

    // Act
    const result = await run(dataDir, deep);

    // Assess
    expect(result.code).toBe(1);
    expect(result.summary).toMatchObject({ images: 1, failed: 1, done: 0 });
    expect(await storedImage(dataDir, keyOf(file))).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_KEY', message: expect.stringContaining('at most 1024 bytes') },
    });
    expect(await ingestKeys(dataDir)).toEqual([]);
  });
});
