import { cosineSimilarity } from '../vision/analysers/embedder';
import type { DetectedFace } from '../vision/types';
import type { ResultsStore } from './ports';
import type { FaceRecord, Identity, PersonRecord } from './records';

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
 * How a face is named among many people (1:N, open set): its best person must be at least `threshold` alike and beat
 * every other person by `margin`. Calibrated for a false-identification rate of strangers, not for 1:1 verification
 * (`npm run eval -- --only openset`, the definitions in lib/options.ts).
 */
export interface IdentificationRule {
  threshold: number;
  margin: number;
}

/**
 * A stranger compared with fewer people has fewer chances to look like one of them: the lowest threshold keeping the
 * false-identification rate at 0.1% per stranger face falls with the gallery's size. Calibrated as the shipped
 * threshold is (`npm run eval -- --only openset`, reports/eval.md "By gallery size"): galleries of N people drawn from
 * the LFW gallery, strangers split in halves by who they are, the lowest threshold reaching the target on one half,
 * mean over draws and splits rounded up to 0.01. Each row: up to `people` enrolled people, the threshold is
 * `below` lower than at the reference gallery of 100 people (0.47 there: 0.35, 0.37, 0.37, 0.40, 0.42, 0.44 for 1, 2,
 * 3, 5, 10, 20; 0.46 for 50, where the configured 0.47 is kept). A gallery between two rows takes the larger row's
 * (the stricter threshold); from 21 people on, the configured threshold itself.
 */
export const GALLERY_SIZE_ALLOWANCE: readonly { people: number; below: number }[] = [
  { people: 1, below: 0.12 },
  { people: 2, below: 0.1 },
  { people: 3, below: 0.1 },
  { people: 5, below: 0.07 },
  { people: 10, below: 0.05 },
  { people: 20, below: 0.03 },
];

/** The settings the identification rule is made of (`config.recognition`). */
export interface IdentificationSettings extends IdentificationRule {
  /** Lower the threshold for galleries of up to 20 people by GALLERY_SIZE_ALLOWANCE (else the threshold is fixed). */
  byGallerySize: boolean;
}

/** The rule for a gallery of `people` enrolled people: the configured threshold, lowered for a small gallery. */
export function identificationRule(settings: IdentificationSettings, people: number): IdentificationRule {
  const allowance = settings.byGallerySize ? GALLERY_SIZE_ALLOWANCE.find((row) => people <= row.people) : undefined;
  const threshold = allowance ? Math.round((settings.threshold - allowance.below) * 1000) / 1000 : settings.threshold;
  return { threshold, margin: settings.margin };
}

/** Faces too small or too unsure to carry an identity: they are never named nor clustered (they stay unknown). */
export interface QualityGate {
  /** Shorter side of the face's box, in pixels of the original image. */
  minFaceSize: number;
  /** Detection score. */
  minScore: number;
}

/** Whether a face is clear enough to be named or clustered. */
export function recognisable(face: Pick<DetectedFace, 'box' | 'score'>, gate: QualityGate): boolean {
  return Math.min(face.box.width, face.box.height) >= gate.minFaceSize && face.score >= gate.minScore;
}

/** Whether a face may be named as a person: clear enough to be recognised, and not rejected for them by a user. */
export function mayBeNamed(
  face: Pick<FaceRecord, 'box' | 'score' | 'rejectedPeople'>,
  personId: string,
  gate: QualityGate,
): boolean {
  return recognisable(face, gate) && !face.rejectedPeople?.includes(personId);
}

/**
 * Who each face of one photo is, from its similarity matrix. A face may be given person p only when its similarity
 * to p is at or above the rule's threshold and beats its similarity to every other person by the rule's margin (a
 * margin of 0 checks nothing: a face may then take its second-best person when its best went to another face), and
 * `allowed(face, person)` agrees (a face the user said is not p, or a face too poor to name). Of those pairs, the most
 * similar are taken first, and a person already given to a face of this photo is not given to another (one person
 * appears once in a photo). The rest are unknown, with the similarity of their closest person for reference (`noMatch`
 * when nothing at all is close).
 */
export function assignBySimilarity(
  similarity: SimilarityMatrix,
  people: readonly EnrolledPerson[],
  rule: IdentificationRule,
  noMatch = -1,
  allowed: (face: number, person: number) => boolean = () => true,
): Identity[] {
  const pairs: { face: number; person: number; similarity: number }[] = [];
  similarity.forEach((row, f) => {
    row.forEach((s, p) => {
      if (s < rule.threshold || p >= people.length || !allowed(f, p)) return;
      const runnerUp = row.reduce((best, other, q) => (q === p ? best : Math.max(best, other)), noMatch);
      if (rule.margin <= 0 || s - runnerUp >= rule.margin) pairs.push({ face: f, person: p, similarity: s });
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
  rule: IdentificationRule,
): Identity[] {
  return assignBySimilarity(embeddingSimilarities(faces, people), people, rule);
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
/**
 * How long after the gallery's version moves the people are listed again at every check. They are listed from an
 * index (a DynamoDB GSI, eventually consistent: usually within a second), which may not show yet the change the
 * version announced; without this, a container that read the new version before the index had the new person would
 * keep a gallery without them until the next change.
 */
export const GALLERY_INDEX_SETTLE_MS = 10_000;

export class GalleryCache {
  private version = -1;
  private people: EnrolledPerson[] = [];
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** When this cache saw the version move (at or after the change). */
  private movedAt = Number.NEGATIVE_INFINITY;
  /** The check in progress: concurrent callers wait for it instead of taking a gallery not loaded yet. */
  private checking: Promise<GallerySnapshot> | undefined;

  /** `maxAgeMs`: how long a gallery is used before its version is read again (a change shows within that time). */
  constructor(
    private readonly results: Pick<ResultsStore, 'galleryVersion' | 'listPeople'>,
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
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
    if (this.now() - this.checkedAt < this.maxAgeMs) {
      return Promise.resolve({ people: this.people, version: this.version });
    }
    this.checking = this.refresh().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async refresh(): Promise<GallerySnapshot> {
    const version = await this.results.galleryVersion();
    if (version !== this.version) this.movedAt = this.now();
    if (version !== this.version || this.now() - this.movedAt < GALLERY_INDEX_SETTLE_MS) {
      this.people = await this.results.listPeople();
      this.version = version;
    }
    this.checkedAt = this.now();
    return { people: this.people, version: this.version };
  }
}
