import fs from 'node:fs';
import { imageIdOf } from '../../../../../lib/pipeline/ids';
import type { FaceRecord } from '../../../../../lib/pipeline/records';
import { openPipeline, tempDataDir } from '../../../../helpers/localPipeline';
import { dataFile } from '../../../../helpers/testConfig';

/** The detect stage's part of a face record: what a repeated detection of the same version writes again. */
function detected(face: FaceRecord): FaceRecord {
  const { emotion, age, gender, identity, embedding, ...geometry } = face;
  return geometry as FaceRecord;
}

describe('the results table', () => {
  it('keeps the analysis of a face when its version is detected again, and replaces it when asked to re-analyse', async () => {
    // Prepare: a real photo through every stage.
    const pipeline = await openPipeline(tempDataDir('table'));
    try {
      const key = 'kit_with_rose.jpg';
      await pipeline.upload(
        key,
        fs.readFileSync(dataFile('verification', 'face_recognition_knn_examples', 'test', key)),
      );
      await pipeline.drained();
      const imageId = imageIdOf(pipeline.buckets.ingest, key);
      const analysed = await pipeline.results.facesOfImage(imageId);
      expect(analysed).toHaveLength(2);
      for (const face of analysed)
        expect([face.emotion?.label, face.identity, face.embedding?.length]).not.toContain(undefined);

      // Act: a late duplicate of the same version writes its face records again.
      await pipeline.results.putFaces(analysed.map(detected), { keepAnalysed: true });
      const kept = await pipeline.results.facesOfImage(imageId);
      // A re-analysis (facepipe run --force) replaces them.
      await pipeline.results.putFaces(analysed.map(detected));
      const replaced = await pipeline.results.facesOfImage(imageId);

      // Assess
      expect(kept).toEqual(analysed);
      expect(replaced).toEqual(analysed.map(detected));
      // A face whose crop changed (another version) is written even with keepAnalysed.
      const moved = {
        ...detected(analysed[0] as FaceRecord),
        crop: { ...(analysed[0] as FaceRecord).crop, key: 'other' },
      };
      await pipeline.results.putFaces([moved], { keepAnalysed: true });
      expect(await pipeline.results.getFace(imageId, 0)).toEqual(moved);
    } finally {
      await pipeline.close();
    }
  });
});
