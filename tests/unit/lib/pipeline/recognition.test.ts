import type { DynamoResultsStore } from '../../../../lib/adapters/dynamodb/resultsStore';
import {
  assignBySimilarity,
  assignIdentities,
  GALLERY_INDEX_SETTLE_MS,
  GalleryCache,
  identificationRule,
  recognisable,
} from '../../../../lib/pipeline/recognition';

const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return new Float32Array(v.map((x) => x / n));
};
const rule = (threshold: number, margin = 0) => ({ threshold, margin });
const person = (personId: string, ...embeddings: Float32Array[]) => ({
  personId,
  name: personId,
  details: {},
  embeddings,
});

describe('assignIdentities', () => {
  it('gives each person to at most one face of a photo, best match first, and leaves the rest unknown', () => {
    const ann = person('ann', unit(1, 0, 0));
    const bob = person('bob', unit(0, 1, 0), unit(0, 0.9, 0.1));
    // Both faces look most like Ann; the closer one gets her, the other is not Ann.
    const faces = [unit(1, 0.3, 0), unit(1, 0.05, 0), unit(0.1, 1, 0)];
    const identities = assignIdentities(faces, [ann, bob], rule(0.5));
    expect(identities.map((i) => i.personId)).toEqual([null, 'ann', 'bob']);
    expect(identities[0]?.similarity).toBeGreaterThan(0.9);
  });

  it('calls everyone unknown below the threshold and with no one enrolled', () => {
    expect(assignIdentities([unit(1, 0, 0)], [person('ann', unit(0, 1, 0))], rule(0.5))).toEqual([
      { personId: null, similarity: 0 },
    ]);
    expect(assignIdentities([unit(1, 0, 0)], [], rule(0.5))).toEqual([{ personId: null, similarity: -1 }]);
  });
});

describe('assignBySimilarity', () => {
  const ann = person('ann');
  const bob = person('bob');

  it('decides over a face x person matrix: best pair first, one person per photo, ties to the earlier face', () => {
    const matrix = [
      [0.8, 0.95],
      [0.9, 0.95],
      [0.9, 0.1],
    ];
    expect(assignBySimilarity(matrix, [ann, bob], rule(0.5))).toEqual([
      { personId: 'bob', similarity: 0.95 },
      { personId: 'ann', similarity: 0.9 },
      { personId: null, similarity: 0.9 },
    ]);
  });

  it('takes -Infinity as no evidence: never a match, even at threshold 0, and reports noMatch instead', () => {
    const none = Number.NEGATIVE_INFINITY;
    expect(
      assignBySimilarity(
        [
          [none, none],
          [none, 0.3],
        ],
        [ann, bob],
        rule(0),
        0,
      ),
    ).toEqual([
      { personId: null, similarity: 0 },
      { personId: 'bob', similarity: 0.3 },
    ]);
    expect(assignBySimilarity([[0.123456]], [ann], rule(0.5))).toEqual([{ personId: null, similarity: 0.1235 }]);
  });
});

describe('the open-set rule', () => {
  const ann = person('ann');
  const bob = person('bob');

  it('names a face only when its best person beats the runner-up by the margin', () => {
    // Prepare: face 0 is close to both (a lookalike pair), face 1 clearly Bob's
    const matrix = [
      [0.62, 0.6],
      [0.2, 0.7],
    ];
    // Act
    const identities = assignBySimilarity(matrix, [ann, bob], rule(0.5, 0.05));
    // Assess
    expect(identities).toEqual([
      { personId: null, similarity: 0.62 },
      { personId: 'bob', similarity: 0.7 },
    ]);
  });

  it('never gives a face a person it is not allowed (a rejection, a face too poor to name)', () => {
    const matrix = [
      [0.9, 0.1],
      [0.8, 0.2],
    ];
    const identities = assignBySimilarity(matrix, [ann, bob], rule(0.5), -1, (face) => face !== 0);
    expect(identities.map((i) => i.personId)).toEqual([null, 'ann']);
  });

  it('keeps tiny and unsure faces out of recognition', () => {
    const box = (side: number) => ({ x: 0, y: 0, width: side, height: side * 1.2 });
    const gate = { minFaceSize: 32, minScore: 0.8 };
    expect(recognisable({ box: box(40), score: 0.9 }, gate)).toBe(true);
    expect(recognisable({ box: box(31), score: 0.95 }, gate)).toBe(false);
    expect(recognisable({ box: box(100), score: 0.79 }, gate)).toBe(false);
  });
});

describe('the threshold by gallery size', () => {
  const settings = { threshold: 0.47, margin: 0.05, byGallerySize: true };

  it('lowers the threshold for a small gallery as calibrated, the larger row for a size between two', () => {
    // Act
    const thresholds = [1, 2, 3, 4, 5, 9, 10, 11, 20, 21, 49, 50, 100, 5000].map(
      (people) => identificationRule(settings, people).threshold,
    );
    // Assess: reports/eval.md "By gallery size"
    expect(thresholds).toEqual([0.35, 0.37, 0.37, 0.4, 0.4, 0.42, 0.42, 0.44, 0.44, 0.47, 0.47, 0.47, 0.47, 0.47]);
    expect(identificationRule(settings, 3).margin).toBe(0.05);
  });

  it('moves with a configured threshold and can be turned off', () => {
    expect(identificationRule({ ...settings, threshold: 0.6 }, 1).threshold).toBe(0.48);
    expect(identificationRule({ ...settings, byGallerySize: false }, 1)).toEqual({ threshold: 0.47, margin: 0.05 });
  });

  it('names a face at 0.4 among 3 people that stays unknown among 100', () => {
    // Prepare: the face is 0.4 alike its person, nothing like anyone else
    const people = Array.from({ length: 100 }, (_, i) => person(`p${i}`));
    const row = people.map((_, i) => (i === 0 ? 0.4 : 0));
    // Act
    const [small] = assignBySimilarity([row.slice(0, 3)], people.slice(0, 3), identificationRule(settings, 3));
    const [large] = assignBySimilarity([row], people, identificationRule(settings, 100));
    // Assess
    expect([small?.personId, large?.personId]).toEqual(['p0', null]);
  });
});

describe('GalleryCache', () => {
  it('makes concurrent callers wait for the first load instead of answering with an empty gallery', async () => {
    let release: () => void = () => {};
    const table = {
      galleryVersion: () =>
        new Promise<number>((resolve) => {
          release = () => resolve(1);
        }),
      listPeople: async () => [person('ann', unit(1, 0))],
    } as unknown as DynamoResultsStore;
    const cache = new GalleryCache(table);
    const first = cache.current();
    const second = cache.current();
    release();
    expect((await first).map((p) => p.personId)).toEqual(['ann']);
    expect((await second).map((p) => p.personId)).toEqual(['ann']);
  });

  it('lists the people again for a while after the version moved: the index listing them may lag it', async () => {
    // Prepare: the version says Ann was enrolled, but the first listing (an eventually consistent index) lacks her.
    let clock = 0;
    const listings = [[], [person('ann', unit(1, 0))]];
    let listed = 0;
    const table = {
      galleryVersion: async () => 1,
      listPeople: async () => listings[Math.min(listed++, listings.length - 1)],
    } as unknown as DynamoResultsStore;
    const cache = new GalleryCache(table, 1000, () => clock);

    // Act
    const first = await cache.current();
    clock = 500;
    const cached = await cache.current();
    clock = 1500;
    const settled = await cache.current();
    clock = GALLERY_INDEX_SETTLE_MS + 5000;
    const later = await cache.current();

    // Assess: within a check's age the copy is used; the next check lists again although the version is the same;
    // once the index has had time to settle, a check with the same version lists no more.
    expect([first, cached, settled, later].map((people) => people.map((p) => p.personId))).toEqual([
      [],
      [],
      ['ann'],
      ['ann'],
    ]);
    expect(listed).toBe(2);
  });
});
