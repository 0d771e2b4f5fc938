import { cosineSimilarity } from '../analysers/embedder';
import type { Identity, PersonRecord } from './records';
import type { ResultsTable } from './table/resultsTable';

export type EnrolledPerson = Pick<PersonRecord, 'personId' | 'name' | 'details' | 'embeddings'>;

/** A person's similarity to a face: the best over all of their enrolled embeddings. */
function personSimilarity(face: Float32Array, person: EnrolledPerson): number {
  let best = -1;
  for (const e of person.embeddings) best = Math.max(best, cosineSimilarity(face, e));
  return best;
}

/**
 * Who each face of one photo is. Every face is compared with every enrolled embedding of every person; the most
 * similar face-person pairs at or above the threshold are taken first, and a person already given to a face of this
 * photo is not given to another (one person appears once in a photo). The rest are unknown, with the similarity of
 * their closest person for reference.
 */
export function assignIdentities(
  faces: readonly Float32Array[],
  people: readonly EnrolledPerson[],
  threshold: number,
): Identity[] {
  const similarity = faces.map((face) => people.map((person) => personSimilarity(face, person)));
  const pairs: { face: number; person: number; similarity: number }[] = [];
  similarity.forEach((row, f) => {
    row.forEach((s, p) => {
      if (s >= threshold) pairs.push({ face: f, person: p, similarity: s });
    });
  });
  pairs.sort((a, b) => b.similarity - a.similarity || a.face - b.face || a.person - b.person);
  const identities: (Identity | undefined)[] = faces.map(() => undefined);
  const taken = new Set<number>();
  for (const pair of pairs) {
    if (identities[pair.face] || taken.has(pair.person)) continue;
    const person = people[pair.person] as EnrolledPerson;
    identities[pair.face] = {
      personId: person.personId,
      name: person.name,
      details: person.details,
      similarity: round(pair.similarity),
    };
    taken.add(pair.person);
  }
  return identities.map(
    (identity, f) => identity ?? { personId: null, similarity: round(Math.max(-1, ...(similarity[f] ?? []))) },
  );
}

const round = (v: number) => Math.round(v * 10000) / 10000;

/**
 * The enrolled people, loaded once and kept until the table's gallery version moves (someone was enrolled or
 * removed): one small read per use instead of loading every embedding every time.
 */
export class GalleryCache {
  private version = -1;
  private people: EnrolledPerson[] = [];
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** The check in progress: concurrent callers wait for it instead of taking a gallery not loaded yet. */
  private checking: Promise<EnrolledPerson[]> | undefined;

  /** `maxAgeMs`: how long a gallery is used before its version is read again (a change shows within that time). */
  constructor(
    private readonly table: ResultsTable,
    private readonly maxAgeMs = 1000,
  ) {}

  current(): Promise<EnrolledPerson[]> {
    if (this.checking) return this.checking;
    if (Date.now() - this.checkedAt < this.maxAgeMs) return Promise.resolve(this.people);
    this.checking = this.refresh().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async refresh(): Promise<EnrolledPerson[]> {
    const version = await this.table.galleryVersion();
    if (version !== this.version) {
      this.people = await this.table.listPeople();
      this.version = version;
    }
    this.checkedAt = Date.now();
    return this.people;
  }
}
