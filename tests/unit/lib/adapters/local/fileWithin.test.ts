import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readAtMost, readFileOrRefuse, readFileWithin } from '../../../../../lib/adapters/local/fileWithin';
import { sparseFile } from '../../../../helpers/memory';

const GiB = 2 ** 30;
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-within-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

describe('readFileWithin', () => {
  it('refuses files of 1.5 and 3 GiB from their size, without reading them', async () => {
    // Prepare
    const files = [sparseFile(path.join(folder, 'a.jpg'), 1.5 * GiB), sparseFile(path.join(folder, 'b.jpg'), 3 * GiB)];
    const before = process.memoryUsage().rss;

    // Act
    const reads = await Promise.all(files.map((file) => readFileWithin(file, 50 * 2 ** 20)));

    // Assess: a read of either would take gigabytes (or fail: Node reads at most 2 GiB at once).
    expect(reads).toEqual([
      { size: 1.5 * GiB, refused: expect.objectContaining({ code: 'FILE_TOO_LARGE' }) },
      { size: 3 * GiB, refused: expect.objectContaining({ code: 'FILE_TOO_LARGE' }) },
    ]);
    expect((reads[1] as { refused: Error }).refused.message).toBe(
      `The file is ${3 * GiB} bytes; the limit is ${50 * 2 ** 20} bytes (FACEPIPE_MAX_BYTES). Refused unread.`,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
    await expect(readFileOrRefuse(files[0] as string, 50 * 2 ** 20)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
  });

  it('reads a file within the limit, exactly at it too, and calls a missing path or a folder FILE_NOT_FOUND', async () => {
    const file = path.join(folder, 'small.bin');
    fs.writeFileSync(file, Buffer.from('0123456789'));

    expect(await readFileWithin(file, 10)).toEqual({ size: 10, bytes: Buffer.from('0123456789') });
    expect(await readFileWithin(file, 9)).toEqual({
      size: 10,
      refused: expect.objectContaining({ code: 'FILE_TOO_LARGE' }),
    });
    await expect(readFileWithin(path.join(folder, 'missing.jpg'), 10)).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
    await expect(readFileWithin(folder, 10)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('readAtMost', () => {
  it('stops at the limit when the file grew after its size was checked', async () => {
    // Prepare: the handle reports the size the file had when it was checked; 3 MB are there by the time it is read.
    const file = path.join(folder, 'growing.bin');
    fs.writeFileSync(file, Buffer.alloc(3 * 2 ** 20, 7));
    const handle = await fsp.open(file);
    const checkedEarlier = new Proxy(handle, {
      get: (target, property) =>
        property === 'stat'
          ? async () => ({ size: 1000 })
          : (Reflect.get(target, property) as (...args: unknown[]) => unknown).bind(target),
    }) as FileHandle;
    try {
      // Act, Assess: a limit of 2 MB is never passed; a limit of 4 MB reads what is there now, all of it.
      expect(await readAtMost(checkedEarlier, 2 * 2 ** 20)).toBeUndefined();
      expect((await readAtMost(checkedEarlier, 4 * 2 ** 20))?.length).toBe(3 * 2 ** 20);
    } finally {
      await handle.close();
    }
  });
});
