import { cosineSimilarity } from '../vision/analysers/embedder';
import type { ResultsStore } from './ports';
import type { Identity, PersonRecord } from './records';

export type EnrolledPerson = Pick<PersonRecord, 'personId' | 'name' | 'details' | 'embeddings' | 'rekognitionFaces'>;

/**
 * Face × person similarities of one photo: row f, column p is how alike face f and person p are (the higher the more
 * alike). `-Infinity` means there is no evidence at all (the backend did not report that pair).
 */
export type SimilarityMatrix = readonly (readonly number[])[];

/** A person's similarity to a face: the best over all of their enrolled embeddings (-1 with none). */
function personSimilarity(face: Float32Array, person: EnrolledPerson): number {
  let best = -1;
  for (const e of person.embeddings) best = Math.max(best, cosineSimilarity(face, e));
  return best;
}

/** The ONNX path's matrix: every face's embedding against every enrolled embedding of every person (cosine). */
export function embeddingSimilarities(
  faces: readonly Float32Array[],
  people: readonly EnrolledPerson[],
): SimilarityMatrix {
  return faces.map((face) => people.map((person) => personSimilarity(face, person)));
}

/**
 * Who each face of one photo is, from its similarity matrix. The most similar face-person pairs at or above the
 * threshold are taken first, and a person already given to a face of this photo is not given to another (one person
 * appears once in a photo). The rest are unknown, with the similarity of their closest person for reference
 * (`noMatch` when nothing at all is close).
 */
export function assignBySimilarity(
  similarity: SimilarityMatrix,
  people: readonly EnrolledPerson[],
  threshold: number,
  noMatch = -1,
): Identity[] {
  const pairs: { face: number; person: number; similarity: number }[] = [];
  similarity.forEach((row, f) => {
    row.forEach((s, p) => {
      if (s >= threshold && p < people.length) pairs.push({ face: f, person: p, similarity: s });
    });
  });
  pairs.sort((a, b) => b.similarity - a.similarity || a.face - b.face || a.person - b.person);
  const identities: (Identity | undefined)[] = similarity.map(() => undefined);
  const taken = new Set<number>();
  for (const pair of pairs) {
    if (identities[pair.face] || taken.has(pair.person)) continue;
    const person = people[pair.person] as EnrolledPerson;
    identities[pair.face] = { personId: person.personId, similarity: round(pair.similarity) };
    taken.add(pair.person);
  }
  return identities.map(
    (identity, f) => identity ?? { personId: null, similarity: round(Math.max(noMatch, ...(similarity[f] ?? []))) },
  );
}

/**
 * Who each face of one photo is, by embedding (the ONNX path): `assignBySimilarity` over the cosine similarities of
 * every face with every enrolled embedding of every person.
 */
export function assignIdentities(
  faces: readonly Float32Array[],
  people: readonly EnrolledPerson[],
  threshold: number,
): Identity[] {
  return assignBySimilarity(embeddingSimilarities(faces, people), people, threshold);
}

const round = (v: number) => Math.round(v * 10000) / 10000;

export interface GallerySnapshot {
  people: EnrolledPerson[];
  version: number;
}

/**
 * The enrolled people, loaded once and kept until the table's gallery version moves (someone was enrolled or
 * removed): one small read per use instead of loading every embedding every time.
 */
export class GalleryCache {
  private version = -1;
  private people: EnrolledPerson[] = [];
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** The check in progress: concurrent callers wait for it instead of taking a gallery not loaded yet. */
  private checking: Promise<GallerySnapshot> | undefined;

  /** `maxAgeMs`: how long a gallery is used before its version is read again (a change shows within that time). */
  constructor(
    private readonly results: Pick<ResultsStore, 'galleryVersion' | 'listPeople'>,
    private readonly maxAgeMs = 1000,
  ) {}

  async current(): Promise<EnrolledPerson[]> {
    return (await this.snapshot()).people;
  }

  /**
   * The people with the gallery version read before they were listed: a later read of the same version proves no
   * person was enrolled or removed since (the recognise stage relies on it to skip looking each person up again).
   */
  snapshot(): Promise<GallerySnapshot> {
    if (this.checking) return this.checking;
    if (Date.now() - this.checkedAt < this.maxAgeMs) {
      return Promise.resolve({ people: this.people, version: this.version });
    }
    this.checking = this.refresh().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async refresh(): Promise<GallerySnapshot> {
    const version = await this.results.galleryVersion();
    if (version !== this.version) {
      this.people = await this.results.listPeople();
      this.version = version;
    }
    this.checkedAt = Date.now();
    return { people: this.people, version: this.version };
  }
}
