import { identificationRule } from '../../../lib/pipeline/recognition';
import { clusterIncrementally, consolidateRun, photoOrder, scoreClustering } from '../../../tools/eval/clustering';
import { loadFaceStream, type StreamFace } from '../../../tools/eval/faceStream';
import {
  combinedProtocol,
  deepfaceProtocol,
  drawnGalleries,
  knnProtocol,
  lfwProtocol,
  openSetRates,
  pooledRates,
  scoreProtocol,
} from '../../../tools/eval/openset';
import { sharedAnalyser } from '../../helpers/analyser';
import { dataDir } from '../../helpers/testConfig';

/**
 * The shipped recognition settings on real photos (the numbers of reports/eval.md, as floors): embeddings of 1,098
 * images, cached under the temp folder by the evaluation (a first run embeds them, about a minute).
 */

let stream: StreamFace[];

beforeAll(async () => {
  const analyser = await sharedAnalyser({ ageGender: false });
  stream = await loadFaceStream(analyser, dataDir, ['lfw', 'deepface', 'knn', 'wider']);
}, 600_000);

const settings = async () => {
  const { recognition } = (await sharedAnalyser({ ageGender: false })).config;
  return {
    recognition,
    gate: { minFaceSize: recognition.minFaceSize, minScore: recognition.minScore },
    cluster: { threshold: recognition.clusterThreshold, merge: recognition.clusterMergeThreshold },
  };
};

describe('open-set identification at the shipped settings', () => {
  it('names at most 0.1% of strangers and at least 95% of enrolled people right, on every gallery', async () => {
    // Prepare
    const { recognition, gate } = await settings();
    const own = [lfwProtocol(stream), deepfaceProtocol(stream), knnProtocol(stream)];
    const protocols = [...own, combinedProtocol(own, stream)];

    // Act: each gallery at the rule the pipeline uses for its size
    const rates = protocols.map((p) => ({
      name: p.name,
      ...openSetRates(scoreProtocol(p), identificationRule(recognition, p.gallery.length), gate),
    }));

    // Assess
    const lfw = rates[0];
    expect(lfw?.strangers).toBeGreaterThan(1700);
    expect(lfw?.mated).toBe(129);
    for (const r of rates) {
      expect({ name: r.name, fir: r.fir <= 0.001, tir: r.tir >= 0.95, wrong: r.wrongNames }).toEqual({
        name: r.name,
        fir: true,
        tir: true,
        wrong: 0,
      });
    }
  });
});

describe('open-set identification at small galleries', () => {
  it.each([1, 3, 10])(
    'names at most 0.1%% of strangers at the threshold for %d people, over galleries drawn from LFW',
    async (people) => {
      // Prepare: other draws than the calibration's (another seed)
      const { recognition, gate } = await settings();
      const galleries = drawnGalleries(lfwProtocol(stream), people, 10, 99);
      const rule = identificationRule(recognition, people);

      // Act
      const rates = pooledRates(galleries, rule, gate);

      // Assess: lower than at 100 people, and as safe
      expect(rule.threshold).toBeLessThan(recognition.threshold);
      expect(rates.strangers).toBeGreaterThan(10 * 1700);
      expect(rates.fir).toBeLessThanOrEqual(0.001);
      expect(rates.wrongNames).toBe(0);
      expect(rates.tir).toBeGreaterThanOrEqual(0.95);
    },
  );
});

describe('clustering at the shipped settings', () => {
  it.each([
    ['deepface', 1, 1],
    ['lfw', 0.995, 0.85],
    ['knn', 1, 1],
  ] as const)(
    'keeps %s pure (precision floor %d) and finds most of each person (recall floor %d)',
    async (set, minPrecision, minRecall) => {
      // Prepare
      const { gate, cluster } = await settings();
      const faces = stream.filter((f) => f.set === set);
      for (const order of [0, 1]) {
        const ordered = photoOrder(faces, order);
        const identities = ordered.map((f) => f.identity);

        // Act
        const run = clusterIncrementally(ordered, { threshold: cluster.threshold, gate });
        const merged = consolidateRun(run, cluster.merge);

        // Assess
        for (const clusterOf of [run.clusterOf, merged.clusterOf]) {
          const s = scoreClustering(identities, clusterOf);
          expect(s.pairwisePrecision).toBeGreaterThanOrEqual(minPrecision);
          expect(s.purity).toBeGreaterThanOrEqual(minPrecision);
          expect(s.pairwiseRecall).toBeGreaterThanOrEqual(minRecall);
        }
      }
    },
  );
});
