import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readTarballFiles } from '../../../../../lib/models/convert/npmTarball';

describe('readTarballFiles', () => {
  let dir: string;
  /** A path longer than ustar's 100-byte name field: pax format writes it in an extended header. */
  const longName = `package/${'deep/'.repeat(25)}weights.bin`;

  beforeAll(async () => {
    // Prepare: a gzip'd pax tarball laid out as `npm pack` lays one out (everything under package/).
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'facepipe-tgz-'));
    const files: Record<string, Buffer> = {
      'package/package.json': Buffer.from('{"name":"x"}'),
      'package/models/m.json': Buffer.from('{"format":"graph-model"}'),
      'package/models/m.bin': Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251)),
      [longName]: Buffer.from('long'),
    };
    for (const [name, bytes] of Object.entries(files)) {
      await fs.mkdir(path.join(dir, 'src', path.dirname(name)), { recursive: true });
      await fs.writeFile(path.join(dir, 'src', name), bytes);
    }
    execFileSync('tar', ['--format=pax', '-czf', path.join(dir, 'p.tgz'), '-C', path.join(dir, 'src'), 'package']);
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('returns exactly the files asked for, byte for byte, including a long pax path', async () => {
    const found = await readTarballFiles(path.join(dir, 'p.tgz'), [
      'package/models/m.bin',
      'package/models/m.json',
      longName,
    ]);
    expect([...found.keys()].sort()).toEqual([longName, 'package/models/m.bin', 'package/models/m.json'].sort());
    expect(found.get('package/models/m.bin')).toEqual(await fs.readFile(path.join(dir, 'src/package/models/m.bin')));
    expect(found.get('package/models/m.json')?.toString()).toBe('{"format":"graph-model"}');
    expect(found.get(longName)?.toString()).toBe('long');
  });

  it('names the files the archive does not hold', async () => {
    await expect(
      readTarballFiles(path.join(dir, 'p.tgz'), ['package/models/m.json', 'package/nope.bin']),
    ).rejects.toThrow('has no package/nope.bin');
  });

  it('refuses a file that is not a gzip tarball', async () => {
    const bogus = path.join(dir, 'bogus.tgz');
    await fs.writeFile(bogus, 'not a tarball');
    await expect(readTarballFiles(bogus, ['package/package.json'])).rejects.toThrow();
    const plain = path.join(dir, 'plain.tgz');
    execFileSync('sh', ['-c', `printf 'x%.0s' $(seq 1 600) | gzip > ${plain}`]);
    await expect(readTarballFiles(plain, ['package/package.json'])).rejects.toThrow('not a tar file');
  });
});
