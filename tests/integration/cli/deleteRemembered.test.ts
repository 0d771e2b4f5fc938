import fs from 'node:fs';
import path from 'node:path';
import { deleteImageCommand } from '../../../cli/commands/delete';
import { queryCommand } from '../../../cli/commands/query';
import { runCommand } from '../../../cli/commands/run';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { capture } from '../../helpers/capture';
import { openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

const config = testConfig();

describe('facepipe delete, then run of the same folder', () => {
  it('skips the deleted file and says so; --force processes it again; the mark holds the image id and time only', async () => {
    // Prepare: a folder of two photos, run once, one of them deleted by its file name.
    const root = tempDataDir('delete-remembered');
    const dataDir = path.join(root, 'data');
    const folder = path.join(root, 'photos');
    fs.mkdirSync(folder);
    for (const name of ['face_recognition_obama-240p.jpg', 'face_recognition_obama_small.jpg']) {
      fs.copyFileSync(dataFile('robustness', 'upstream', name), path.join(folder, name));
    }
    const deleted = path.join(folder, 'face_recognition_obama_small.jpg');
    const key = keyOfRealPath(fs.realpathSync(deleted));
    expect((await capture(() => runCommand([folder], { dataDir }, config))).code).toBe(0);
    expect((await capture(() => deleteImageCommand(deleted, { dataDir }, config))).code).toBe(0);

    // Act
    const again = await capture(() => runCommand([folder], { dataDir }, config));
    const againJson = await capture(() => runCommand([folder], { dataDir, json: true }, config));
    const query = await queryCommand({ image: deleted, dataDir }, config).catch((error) => error);
    const pipeline = await openPipeline(dataDir, { consume: false });
    let marks: Record<string, unknown>[];
    try {
      marks = (await tableItems(pipeline)).filter((item) => item.type === 'erased-image');
    } finally {
      await pipeline.close();
    }
    const forced = await capture(() => runCommand([folder], { dataDir, force: true, json: true }, config));
    const afterForce = await capture(() => runCommand([folder], { dataDir, json: true }, config));

    // Assess: skipped, visibly, until --force.
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('2 images (0 processed, 1 already done)');
    expect(again.stdout).toContain('skipped 1 deleted file; --force to process it again\n');
    expect(JSON.parse(againJson.stdout)).toMatchObject({ images: 2, uploaded: 0, skipped: 1, deleted: 1 });
    expect(query).toMatchObject({ code: 'NOT_FOUND' });
    expect(marks).toEqual([
      { PK: `IMAGE#${imageIdOf('ingest', key)}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
    ]);
    expect(JSON.parse(forced.stdout)).toMatchObject({ images: 2, uploaded: 2, deleted: 0, done: 2 });
    expect(JSON.parse(afterForce.stdout)).toMatchObject({ uploaded: 0, skipped: 2, deleted: 0 });
  });
});
