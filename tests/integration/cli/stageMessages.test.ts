import fs from 'node:fs';
import { openRunning } from '../../../cli/openPipeline';
import { LOCAL_BUCKETS, type LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { stageMessagesFor } from '../../../lib/options';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { FaultyStore } from '../../helpers/localFaults';
import { tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

/**
 * `--workers N` gives each stage 3 messages at once per vision worker, so a worker has its next job while another
 * message waits for the table or a folder: with 1 worker, the detect stage reads 3 uploads at once.
 */
describe('messages each stage handles at once, as the CLI opens the pipeline', () => {
  test('--workers 1: the detect stage holds 3 uploads at once, and every upload is analysed', async () => {
    // Prepare: every read of an upload held until the test lets go
    let faulty: FaultyStore | undefined;
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pipeline: LocalPipeline = await openRunning('run', {
      dataDir: tempDataDir('stage-messages'),
      config: testConfig(),
      workers: 1,
      wrapStore: (store) => {
        faulty = new FaultyStore(store);
        faulty.inject({
          op: 'get',
          bucket: LOCAL_BUCKETS.ingest,
          key: () => true,
          hold,
          remaining: Number.POSITIVE_INFINITY,
        });
        return faulty;
      },
    });
    const photos = ['img1.jpg', 'img2.jpg', 'img3.jpg', 'img4.jpg', 'img5.jpg', 'img6.jpg'];
    const held = () => faulty?.count('get', LOCAL_BUCKETS.ingest) ?? 0;
    try {
      // Act: six uploads; wait (on progress, not on a clock) until the stage has taken as many as it may
      for (const photo of photos) {
        await pipeline.upload(photo, fs.readFileSync(dataFile('verification', 'deepface_unit_dataset', photo)));
      }
      while (held() < stageMessagesFor(1)) await new Promise((resolve) => setImmediate(resolve));
      const heldAtOnce = held();
      release();
      await pipeline.drained();

      // Assess: 3 reads in flight before any was let go (1 with a message per stage); all six photos done
      expect(stageMessagesFor(1)).toBe(3);
      expect(heldAtOnce).toBe(3);
      const images = await Promise.all(photos.map((photo) => pipeline.results.getImage(imageIdOf('ingest', photo))));
      expect(images.map((image) => [image?.status, (image?.faceCount ?? 0) >= 1])).toEqual(
        Array(6).fill(['done', true]),
      );
      expect(held()).toBe(6);
    } finally {
      release();
      await pipeline.close();
    }
  }, 300_000);
});
