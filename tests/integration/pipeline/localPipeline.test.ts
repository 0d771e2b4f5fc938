import fs from 'node:fs';
import path from 'node:path';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { faceViews } from '../../../lib/pipeline/queries';
import { cosineSimilarity } from '../../../lib/vision/analysers/embedder';
import { analyzeFile } from '../../helpers/analyser';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

async function enrolKnnPeople(pipeline: LocalPipeline) {
  for (const person of fs.readdirSync(knn('train')).sort()) {
    const photos = fs.readdirSync(knn('train', person)).map((name) => ({
      name,
      bytes: fs.readFileSync(knn('train', person, name)),
    }));
    await enrolPerson(pipeline.context, {
      personId: person,
      name: person.replace('_', ' '),
      details: { team: person.length },
      photos,
    });
  }
}

async function uploadFolder(pipeline: LocalPipeline, folder: string) {
  for (const name of fs
    .readdirSync(folder)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()) {
    await pipeline.upload(name, fs.readFileSync(path.join(folder, name)));
  }
  await pipeline.drained();
}

describe('the local pipeline', () => {
  it('identifies every labelled face of the face_recognition test photos, and an unlisted face as unknown', async () => {
    // Prepare
    const pipeline = await openPipeline(tempDataDir('knn'));
    try {
      await enrolKnnPeople(pipeline);
      // Act
      await uploadFolder(pipeline, knn('test'));
      // Assess
      expect(await pipeline.deadLetters.list()).toEqual([]);
      const people = async (key: string) => {
        const faces = await pipeline.results.facesOfImage(imageIdOf('ingest', key));
        return faces.map((f) => f.identity?.personId ?? 'unknown');
      };
      expect(await people('obama1.jpg')).toEqual(['obama']);
      expect(await people('alex_lacamoire1.jpg')).toEqual(['alex_lacamoire']);
      expect(await people('johnsnow_test1.jpg')).toEqual(['kit_harington']);
      expect((await people('kit_with_rose.jpg')).sort()).toEqual(['kit_harington', 'rose_leslie']);
      // Obama and Biden, and a child in the background whom nobody enrolled.
      expect((await people('obama_and_biden.jpg')).sort()).toEqual(['biden', 'obama', 'unknown']);
      const obama = await pipeline.results.facesOfPerson('obama');
      expect(obama).toHaveLength(2);
      // The record names the person; name and details come from the person's record when it is read.
      expect(obama[0]?.identity).toEqual({ personId: 'obama', similarity: expect.any(Number) });
      const [view] = await faceViews(pipeline, obama.slice(0, 1));
      expect(view?.identity).toMatchObject({ personId: 'obama', name: 'obama', details: { team: 5 } });
      expect((await pipeline.results.unknownFaces()).map((f) => f.sourceKey)).toEqual(['obama_and_biden.jpg']);
      const image = await pipeline.results.getImage(imageIdOf('ingest', 'kit_with_rose.jpg'));
      expect(image).toMatchObject({ status: 'done', faceCount: 2, width: 501, height: 700 });
      expect(await pipeline.deadLetters.list()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('gives the same people and emotions as facepipe analyze for the deepface photos', async () => {
    const folder = dataFile('verification', 'deepface_unit_dataset');
    const files = ['img1.jpg', 'img2.jpg', 'img4.jpg', 'img17.jpg', 'img22.jpg', 'img38.jpg', 'couple.jpg'];
    const pipeline = await openPipeline(tempDataDir('deepface'));
    try {
      // Enrol the person of img1 from another photo of the same cluster (img2 is upstream's "same" pair).
      await enrolPerson(pipeline.context, {
        personId: 'p1',
        name: 'Person One',
        photos: [{ name: 'img2.jpg', bytes: fs.readFileSync(path.join(folder, 'img2.jpg')) }],
      });
      for (const name of files) await pipeline.upload(name, fs.readFileSync(path.join(folder, name)));
      await pipeline.drained();

      for (const name of files) {
        const analysis = await analyzeFile(path.join(folder, name));
        const faces = await pipeline.results.facesOfImage(imageIdOf('ingest', name));
        expect(faces).toHaveLength(analysis.faces.length);
        for (const [i, face] of faces.entries()) {
          const direct = analysis.faces[i]!;
          expect(face.box.x).toBeCloseTo(direct.box.x, 3);
          expect(face.emotion?.label).toBe(direct.emotion.label);
          // The stages read the stored crop, analyze reads the image: the same face, within JPEG noise.
          expect(Math.abs((face.emotion?.confidence ?? 0) - direct.emotion.confidence)).toBeLessThan(0.15);
          expect(cosineSimilarity(face.embedding!, direct.embedding)).toBeGreaterThan(0.9);
        }
      }
      // Query by person and by emotion: the same faces analyze would name.
      const byPerson = (await pipeline.results.facesOfPerson('p1')).map((f) => f.sourceKey).sort();
      expect(byPerson).toContain('img1.jpg');
      expect(byPerson).toContain('img2.jpg');
      const happyDirect: string[] = [];
      for (const name of files) {
        for (const face of (await analyzeFile(path.join(folder, name))).faces) {
          if (face.emotion.label === 'happy') happyDirect.push(name);
        }
      }
      const happyQueried = (await pipeline.results.facesWithEmotion('happy')).map((f) => f.sourceKey);
      expect(happyQueried.sort()).toEqual(happyDirect.sort());
    } finally {
      await pipeline.close();
    }
  });

  it('is idempotent: the same upload twice and a re-announced object give one image and one set of faces', async () => {
    const dataDir = tempDataDir('idempotent');
    const pipeline = await openPipeline(dataDir);
    try {
      const bytes = fs.readFileSync(knn('test', 'kit_with_rose.jpg'));
      await pipeline.upload('a/kit.jpg', bytes);
      await pipeline.upload('a/kit.jpg', bytes);
      await pipeline.announce('a/kit.jpg');
      await pipeline.drained();
      const items = await tableItems(pipeline);
      expect(items.filter((i) => i.type === 'image')).toHaveLength(1);
      expect(items.filter((i) => i.type === 'face')).toHaveLength(2);
      expect(bucketFiles(dataDir).filter((f) => f.startsWith('crops'))).toHaveLength(2);

      // A changed object (new etag) replaces its old faces.
      await pipeline.upload('a/kit.jpg', fs.readFileSync(knn('test', 'obama1.jpg')));
      await pipeline.drained();
      const after = await tableItems(pipeline);
      expect(after.filter((i) => i.type === 'face')).toHaveLength(1);
      expect(bucketFiles(dataDir).filter((f) => f.startsWith('crops'))).toHaveLength(1);
      expect(bucketFiles(dataDir).filter((f) => f.startsWith('thumbnails'))).toHaveLength(2);
    } finally {
      await pipeline.close();
    }
  });

  it('records bad uploads as failed images with the reason, and keeps going', async () => {
    const pipeline = await openPipeline(tempDataDir('bad'));
    try {
      await pipeline.upload('notes.jpg', Buffer.from('not an image at all'));
      await pipeline.upload(
        'cut.jpg',
        fs.readFileSync(dataFile('robustness', 'upstream_corrupt', 'sharp_truncated.jpg')),
      );
      await pipeline.upload('bomb.jpg', fs.readFileSync(dataFile('robustness', 'upstream', 'sharp_giant-image.jpg')));
      await pipeline.upload('ok.jpg', fs.readFileSync(knn('test', 'obama1.jpg')));
      await pipeline.drained();
      const failed = await pipeline.results.failedImages();
      expect(failed.map((f) => [f.key, f.error?.code]).sort()).toEqual([
        ['bomb.jpg', 'IMAGE_TOO_LARGE'],
        ['cut.jpg', 'CORRUPT_IMAGE'],
        ['notes.jpg', 'UNSUPPORTED_FORMAT'],
      ]);
      expect((await pipeline.results.getImage(imageIdOf('ingest', 'ok.jpg')))?.status).toBe('done');
      expect(await pipeline.deadLetters.list()).toEqual([]);
    } finally {
      await pipeline.close();
    }
  });

  it('erases an image and a person so that nothing of them is left', async () => {
    const dataDir = tempDataDir('erase');
    const pipeline = await openPipeline(dataDir);
    try {
      await enrolKnnPeople(pipeline);
      await uploadFolder(pipeline, knn('test'));
      expect(bucketFiles(dataDir).length).toBeGreaterThan(10);

      // Act: erase one image, then Obama with every face recognised as him.
      const imageReport = await eraseImage(pipeline, 'kit_with_rose.jpg');
      const personReport = await removePerson(pipeline, 'obama', { erase: true });

      // Assess: list every bucket folder and every table item.
      const files = bucketFiles(dataDir);
      const kitId = imageIdOf('ingest', 'kit_with_rose.jpg');
      expect(files.filter((f) => f.includes(kitId) || f.includes('kit_with_rose'))).toEqual([]);
      expect(imageReport.objects.length).toBe(2 * 2 + 2); // 2 crops + 2 face thumbnails, image thumbnail, upload
      const items = await tableItems(pipeline);
      // Of the image, only its erasure mark is left: the time, nothing of its key or content.
      expect(items.filter((i) => String(i.PK).includes(kitId))).toEqual([
        { PK: `IMAGE#${kitId}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
      ]);
      const obamaItems = items.filter(
        (i) => (i.identity as { personId?: string } | undefined)?.personId === 'obama' || i.personId === 'obama',
      );
      expect(obamaItems).toEqual([]);
      expect(items.filter((i) => i.PK === 'PERSON#obama')).toEqual([]);
      expect(personReport.items).toContain('person obama (2 enrolled embeddings)');
      const obamaFaces = personReport.items.filter((i) => i.startsWith('face '));
      expect(obamaFaces).toHaveLength(2);
      for (const item of obamaFaces) {
        const faceId = item.slice(5);
        expect(
          files.filter((f) => f.includes(`${faceId.split('-')[0]}/`) && f.includes(`face-${faceId.split('-')[1]}`)),
        ).toEqual([]);
      }
      // Everyone else is still there.
      expect((await pipeline.results.facesOfPerson('biden')).length).toBe(1);
    } finally {
      await pipeline.close();
    }
  });
});
