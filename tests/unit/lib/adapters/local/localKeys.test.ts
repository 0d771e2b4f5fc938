import path from 'node:path';
import { keyOfRealPath, legacyKeyOf } from '../../../../../lib/adapters/local/localKeys';

describe('keyOfRealPath', () => {
  test.each([
    ['/home/ana/photos/img1.jpg', 'home/ana/photos/img1.jpg'],
    ['/img1.jpg', 'img1.jpg'],
    ['/tmp/with space/café 写真/a+b 100%.jpg', 'tmp/with space/café 写真/a+b 100%.jpg'],
  ])('a POSIX path %j is the key %j', (real, key) => {
    expect(keyOfRealPath(real, path.posix)).toBe(key);
  });

  test.each([
    ['C:\\Users\\ana\\photos\\img1.jpg', 'C/Users/ana/photos/img1.jpg'],
    ['d:\\img1.jpg', 'D/img1.jpg'],
    ['\\\\server\\share\\photos\\img1.jpg', 'UNC/server/share/photos/img1.jpg'],
  ])('a Windows path %j is the key %j: the drive letter (or UNC share) first', (real, key) => {
    expect(keyOfRealPath(real, path.win32)).toBe(key);
  });
});

describe('legacyKeyOf', () => {
  test('is the path below the folder named, or the file name', () => {
    expect(legacyKeyOf('/x/photos/sub/a.jpg', '/x/photos')).toBe('sub/a.jpg');
    expect(legacyKeyOf('/x/photos/sub/a.jpg', undefined)).toBe('a.jpg');
  });
});
