import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeCommand } from '../../../cli/commands/analyze';
import { compareCommand } from '../../../cli/commands/compare';
import { capture } from '../../helpers/capture';
import { dataFile, testConfig } from '../../helpers/testConfig';

describe('facepipe analyze', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-cli-'));
  beforeAll(() => {
    fs.copyFileSync(
      dataFile('robustness', 'upstream', 'face_recognition_two_people.jpg'),
      path.join(folder, 'a_two.jpg'),
    );
    fs.copyFileSync(
      dataFile('robustness', 'upstream_corrupt', 'sharp_truncated.jpg'),
      path.join(folder, 'b_truncated.jpg'),
    );
    fs.writeFileSync(path.join(folder, 'c_notes.jpg'), 'meeting notes, not a photo');
    fs.copyFileSync(
      dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg'),
      path.join(folder, 'd_obama.jpg'),
    );
    fs.writeFileSync(path.join(folder, 'readme.txt'), 'not picked up from a folder');
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('prints one JSON line per input in order, reports bad files and exits non-zero', async () => {
    const crops = path.join(folder, 'crops');
    const { code, stdout } = await capture(() =>
      analyzeCommand([folder], { json: true, embeddings: true, crops }, testConfig()),
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => path.basename(l.file))).toEqual([
      'a_two.jpg',
      'b_truncated.jpg',
      'c_notes.jpg',
      'd_obama.jpg',
    ]);
    expect(code).toBe(1);
    const [two, truncated, notes, obama] = lines;
    expect(two.faces).toHaveLength(2);
    expect(two.width).toBe(1126);
    expect(truncated.error.code).toBe('CORRUPT_IMAGE');
    expect(notes.error).toEqual({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('not an image') });
    const face = obama.faces[0];
    expect(Object.keys(face).sort()).toEqual(['age', 'box', 'embedding', 'emotion', 'gender', 'landmarks', 'score']);
    expect(face.embedding).toHaveLength(128);
    expect(face.landmarks).toHaveLength(5);
    expect(face.emotion.label).toBe('happy');
    expect(typeof obama.ms).toBe('number');
    expect(fs.readdirSync(crops).sort()).toEqual(['a_two_face0.jpg', 'a_two_face1.jpg', 'd_obama_face0.jpg']);
  });

  it('exits 0 when every file succeeds, and reports a missing path as a failure', async () => {
    const ok = await capture(() => analyzeCommand([path.join(folder, 'd_obama.jpg')], { json: true }, testConfig()));
    expect(ok.code).toBe(0);
    const missing = await capture(() => analyzeCommand([path.join(folder, 'nope.jpg')], { json: true }, testConfig()));
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('FILE_NOT_FOUND');
  });
});

describe('facepipe compare', () => {
  const photo = (name: string) => dataFile('verification', 'face_recognition_test_images', name);

  it('says two photos of one person are the same person, and two people are not', async () => {
    const same = await capture(() =>
      compareCommand(photo('obama.jpg'), photo('obama2.jpg'), { json: true }, testConfig()),
    );
    expect(JSON.parse(same.stdout)).toMatchObject({ samePerson: true });
    const different = await capture(() =>
      compareCommand(photo('obama.jpg'), photo('biden.jpg'), { json: true }, testConfig()),
    );
    expect(JSON.parse(different.stdout)).toMatchObject({ samePerson: false });
    expect(JSON.parse(different.stdout).similarity).toBeLessThan(JSON.parse(same.stdout).similarity);
  });

  it('fails clearly when an image has no face', async () => {
    const result = await capture(() =>
      compareCommand(
        photo('obama.jpg'),
        dataFile('detection', 'negatives_no_faces', 'skimage_coffee.png'),
        { json: true },
        testConfig(),
      ),
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.code).toBe('NO_FACE');
  });
});
