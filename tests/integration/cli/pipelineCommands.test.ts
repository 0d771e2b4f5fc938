import fs from 'node:fs';
import path from 'node:path';
import { deleteImageCommand } from '../../../cli/commands/delete';
import {
  addPersonCommand,
  listPeopleCommand,
  removePersonCommand,
  showPersonCommand,
} from '../../../cli/commands/people';
import { queryCommand } from '../../../cli/commands/query';
import { runCommand } from '../../../cli/commands/run';
import { keyOfRealPath } from '../../../lib/adapters/local/localKeys';
import { capture, jsonLines } from '../../helpers/capture';
import { tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
/** The ingest key `facepipe run` gives a local file: its real path. */
const keyOf = (file: string) => keyOfRealPath(fs.realpathSync(file));
const testKey = (name: string) => keyOf(knn('test', name));

describe('facepipe run, people, query and delete', () => {
  const dataDir = tempDataDir('commands');
  const config = testConfig();

  it('refuses an enrolment photo with two faces, and bad details, with clear errors', async () => {
    await expect(
      addPersonCommand('kit', [knn('test', 'kit_with_rose.jpg')], { name: 'Kit', dataDir }, config),
    ).rejects.toMatchObject({ code: 'ENROLMENT_PHOTO', message: expect.stringContaining('shows 2 faces') });
    await expect(
      addPersonCommand(
        'kit',
        [knn('train', 'kit_harington', 'john1.jpeg')],
        { name: 'Kit', details: '{oops', dataDir },
        config,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(
      addPersonCommand('../kit', [knn('train', 'kit_harington', 'john1.jpeg')], { name: 'Kit', dataDir }, config),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('enrols people, runs a folder, and answers queries by person, emotion and image', async () => {
    const detailsFile = path.join(dataDir, 'obama.json');
    fs.writeFileSync(detailsFile, JSON.stringify({ role: 'president', since: 2009 }));
    for (const person of fs.readdirSync(knn('train'))) {
      const photos = fs.readdirSync(knn('train', person)).map((f) => knn('train', person, f));
      const flags = person === 'obama' ? { name: 'Barack Obama', detailsFile, dataDir } : { name: person, dataDir };
      expect((await capture(() => addPersonCommand(person, photos, flags, config))).code).toBe(0);
    }
    const people = jsonLines((await capture(() => listPeopleCommand({ json: true, dataDir }, config))).stdout);
    expect(people.map((p) => p.personId).sort()).toEqual([
      'alex_lacamoire',
      'biden',
      'kit_harington',
      'obama',
      'rose_leslie',
    ]);

    const run = await capture(() => runCommand([knn('test')], { dataDir, json: true }, config));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      images: 5,
      uploaded: 5,
      done: 5,
      failed: 0,
      faces: 8,
      knownPeople: 5,
      unknownFaces: 1,
    });

    const obama = jsonLines(
      (await capture(() => queryCommand({ person: 'obama', json: true, dataDir }, config))).stdout,
    );
    expect(obama.map((f) => f.image).sort()).toEqual([testKey('obama1.jpg'), testKey('obama_and_biden.jpg')]);
    expect(obama[0].identity).toMatchObject({
      personId: 'obama',
      name: 'Barack Obama',
      details: { role: 'president', since: 2009 },
    });
    expect(obama[0]).not.toHaveProperty('embedding');

    const happy = jsonLines(
      (await capture(() => queryCommand({ emotion: 'happy', json: true, dataDir }, config))).stdout,
    );
    expect(happy.length).toBeGreaterThan(0);
    expect(happy.every((f) => f.emotion.label === 'happy')).toBe(true);
    // Rekognition's vocabulary, in any case, names the same faces.
    const rekognitionHappy = await capture(() => queryCommand({ emotion: 'HAPPY', json: true, dataDir }, config));
    expect(jsonLines(rekognitionHappy.stdout)).toEqual(happy);
    const limited = jsonLines(
      (await capture(() => queryCommand({ emotion: 'happy', limit: '1', json: true, dataDir }, config))).stdout,
    );
    expect(limited).toHaveLength(1);
    const future = await capture(() =>
      queryCommand({ person: 'obama', since: '2999-01-01', json: true, dataDir }, config),
    );
    expect(future.stdout).toBe('');

    // --image takes the file run from, or its key.
    const table = (await capture(() => queryCommand({ image: knn('test', 'kit_with_rose.jpg'), dataDir }, config)))
      .stdout;
    expect(table).toContain(`${testKey('kit_with_rose.jpg')}: done, 2 face(s)\n`);
    expect(table).toMatch(/rose_leslie/);
    expect(table).toMatch(/kit_harington/);

    const shown = JSON.parse((await capture(() => showPersonCommand('biden', { json: true, dataDir }, config))).stdout);
    expect(shown.faces.map((f: { image: string }) => f.image)).toEqual([testKey('obama_and_biden.jpg')]);

    await expect(queryCommand({ emotion: 'bored', dataDir }, config)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(queryCommand({ person: 'x', unknown: true, dataDir }, config)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(queryCommand({ unknown: true, limit: '0', dataDir }, config)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
  });

  it('shows failed images, and erases an image and a person showing what was removed', async () => {
    const bad = tempDataDir('bad-upload');
    fs.writeFileSync(path.join(bad, 'readme.jpg'), 'not a photo');
    const run = await capture(() => runCommand([bad], { dataDir, json: true }, config));
    expect(run.code).toBe(1);
    const failed = jsonLines((await capture(() => queryCommand({ failed: true, json: true, dataDir }, config))).stdout);
    expect(failed).toEqual([
      expect.objectContaining({
        image: keyOf(path.join(bad, 'readme.jpg')),
        status: 'failed',
        error: expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }),
      }),
    ]);

    // delete takes a key, or the file run from.
    const erased = JSON.parse(
      (await capture(() => deleteImageCommand(testKey('obama1.jpg'), { json: true, dataDir }, config))).stdout,
    );
    expect(erased.objects.map((o: { bucket: string }) => o.bucket).sort()).toEqual([
      'crops',
      'ingest',
      'thumbnails',
      'thumbnails',
    ]);
    await expect(deleteImageCommand(knn('test', 'obama1.jpg'), { dataDir }, config)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });

    const removed = JSON.parse(
      (await capture(() => removePersonCommand('biden', { erase: true, json: true, dataDir }, config))).stdout,
    );
    expect(removed.items).toEqual(
      expect.arrayContaining([expect.stringMatching(/^person biden/), expect.stringMatching(/^face /)]),
    );
    const stillThere = jsonLines(
      (await capture(() => queryCommand({ image: testKey('obama_and_biden.jpg'), json: true, dataDir }, config)))
        .stdout,
    );
    // The photo showed Biden: its upload and thumbnail went with him, and it counts only the two faces kept.
    expect(stillThere[0]).toMatchObject({ faces: 2 });
    expect(stillThere.slice(1)).toHaveLength(2);
    expect(stillThere.slice(1).map((f) => f.identity?.personId)).not.toContain('biden');

    // Removing without --erase keeps the faces but makes them unknown.
    await capture(() => removePersonCommand('rose_leslie', { json: true, dataDir }, config));
    const unknown = jsonLines(
      (await capture(() => queryCommand({ unknown: true, json: true, dataDir }, config))).stdout,
    );
    expect(unknown.map((f) => f.image)).toContain(testKey('kit_with_rose.jpg'));
  });
});
