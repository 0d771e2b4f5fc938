import fs from 'node:fs';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { ObjectCreatedEvent } from '../../../lib/pipeline/ports';
import { openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { filesHolding } from '../../helpers/localStore';
import { dataFile } from '../../helpers/testConfig';

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);

/**
 * Byte patterns an embedding leaves: the base64 the table's JSON holds it in (chunks starting at a multiple of 3
 * bytes encode the same wherever the whole vector is encoded), and raw float32 runs, should any file hold it raw.
 */
function embeddingSamples(embedding: Float32Array): { encoded: Buffer[]; raw: Buffer[] } {
  const bytes = Buffer.from(embedding.buffer, embedding.byteOffset, embedding.byteLength);
  const starts = [0, 171, 384];
  return {
    encoded: starts.map((start) => Buffer.from(bytes.subarray(start, start + 48).toString('base64'))),
    raw: starts.map((start) => bytes.subarray(start, start + 24)),
  };
}

describe('erasure in the local store', () => {
  it('leaves nothing erased in any file of the data directory: names, details, embeddings, keys', async () => {
    // Prepare: a person with distinctive details, two photos of him processed, another person and photo kept.
    const dataDir = tempDataDir('purge');
    const pipeline = await openPipeline(dataDir);
    const secretKey = 'zq-private/johnsnow-5521.jpg';
    const personId = 'zq-kit-7731';
    const secrets = ['Zebediah Quuxworth', 'Purple-Narwhal-7731', '42 Wallaby Way', personId, secretKey];
    let compactionMs: number[] = [];
    try {
      const photos = (person: string) =>
        fs
          .readdirSync(knn('train', person))
          .map((name) => ({ name, bytes: fs.readFileSync(knn('train', person, name)) }));
      await enrolPerson(pipeline.context, {
        personId,
        name: 'Zebediah Quuxworth',
        details: { codename: 'Purple-Narwhal-7731', address: '42 Wallaby Way' },
        photos: photos('kit_harington'),
      });
      await enrolPerson(pipeline.context, { personId: 'rose', name: 'Rosalind Keepme', photos: photos('rose_leslie') });
      await pipeline.upload(secretKey, fs.readFileSync(knn('test', 'johnsnow_test1.jpg')));
      await pipeline.upload('zq-private/kit-and-rose.jpg', fs.readFileSync(knn('test', 'kit_with_rose.jpg')));
      await pipeline.drained();
      const faces = await pipeline.results.facesOfPerson(personId);
      const person = await pipeline.results.getPerson(personId);
      const message = (key: string): ObjectCreatedEvent => ({ bucket: 'ingest', key, etag: 'e', size: 1 });
      await pipeline.deadLetters.add({
        id: 'd1',
        queue: 'ingest',
        message: message(secretKey),
        reason: `gave up on ${secretKey}`,
        receiveCount: 3,
        failedAt: '',
      });
      await pipeline.deadLetters.add({
        id: 'd2',
        queue: 'ingest',
        message: message('kept.jpg'),
        reason: 'x',
        receiveCount: 3,
        failedAt: '',
      });
      const embeddings = [
        ...(person?.embeddings ?? []),
        ...faces.flatMap((face) => (face.embedding ? [face.embedding] : [])),
      ];
      const samples = embeddings.map(embeddingSamples);
      // The table's LevelDB keys hold partition and sort keys in hex (dynalite's encoding).
      const hex = (text: string) => Buffer.from(Buffer.from(text).toString('hex'));
      const needles = [
        ...secrets.map((text) => Buffer.from(text)),
        hex(`PERSON#${personId}`),
        ...samples.flatMap((sample) => sample.encoded),
      ];
      const missingBefore = needles.filter((needle) => filesHolding(dataDir, needle).length === 0);
      needles.push(...samples.flatMap((sample) => sample.raw));

      // Act: the photo of them alone, then the person with every face recognised as them (their face in the photo
      // with Rose goes, with that photo's upload and thumbnail).
      const timed = async <T>(erase: () => Promise<T>) => {
        const started = performance.now();
        const report = await erase();
        compactionMs = [...compactionMs, Math.round(performance.now() - started)];
        return report;
      };
      await timed(() => eraseImage(pipeline, secretKey));
      await timed(() => removePerson(pipeline, personId, { erase: true }));

      // Assess: before, every pattern was somewhere in the files (so the scan can see them); now none is.
      expect(faces).toHaveLength(2);
      expect(embeddings).toHaveLength(4);
      expect(missingBefore.map((needle) => needle.toString('latin1'))).toEqual([]);
      const left = needles
        .map((needle) => ({ needle: needle.toString('latin1').slice(0, 40), files: filesHolding(dataDir, needle) }))
        .filter(({ files }) => files.length > 0);
      expect(left).toEqual([]);
      // The erased image's id (a hash of its key) is left only in its erasure mark, which holds the time and nothing else.
      const secretImage = imageIdOf('ingest', secretKey);
      expect((await tableItems(pipeline)).filter((item) => JSON.stringify(item).includes(secretImage))).toEqual([
        { PK: `IMAGE#${secretImage}`, SK: '#IMAGE', type: 'erased-image', erasedAt: expect.any(String) },
      ]);
      // What was not erased is still there: the other person, the other photo, the other dead letter.
      expect(filesHolding(dataDir, Buffer.from('Rosalind Keepme')).length).toBeGreaterThan(0);
      expect(await pipeline.results.getImage(imageIdOf('ingest', 'zq-private/kit-and-rose.jpg'))).toMatchObject({
        status: 'done',
      });
      expect((await pipeline.deadLetters.list()).map((deadLetter) => deadLetter.id)).toEqual(['d2']);
      process.stderr.write(`erasure with purge: ${compactionMs.join(' ms, ')} ms\n`);
    } finally {
      await pipeline.close();
    }
  });
});
