import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completenessOf } from '../../../cli/settling';
import { dataFile } from '../../helpers/testConfig';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-settling-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

function file(name: string, bytes: Buffer): string {
  const at = path.join(folder, name);
  fs.writeFileSync(at, bytes);
  return at;
}

describe('completenessOf', () => {
  test.each([
    ['JPEG', dataFile('robustness', 'upstream', 'face_recognition_obama_small.jpg')],
    ['PNG', dataFile('robustness', 'upstream', 'sharp_16-bit-grey-alpha.png')],
    ['WebP', dataFile('robustness', 'upstream', 'sharp_5_webp_a.webp')],
  ])('a whole %s is complete, and every cut of it is not', async (format, source) => {
    // Prepare
    const bytes = fs.readFileSync(source);

    // Act
    const whole = await completenessOf(file(`whole.${format}`, bytes));
    const cuts = [];
    for (const fraction of [0.1, 0.5, 0.9, 0.999]) {
      cuts.push(await completenessOf(file(`cut.${format}`, bytes.subarray(0, Math.floor(bytes.length * fraction)))));
    }

    // Assess
    expect(whole).toBe('complete');
    expect(cuts).toEqual(['incomplete', 'incomplete', 'incomplete', 'incomplete']);
  });

  test('an empty file is incomplete; a format without an end marker is unknown', async () => {
    expect(await completenessOf(file('empty.jpg', Buffer.alloc(0)))).toBe('incomplete');
    expect(await completenessOf(file('x.tif', Buffer.from('II*\u0000 some tiff bytes')))).toBe('unknown');
  });
});
