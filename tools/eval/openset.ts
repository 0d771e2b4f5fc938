import {
  assignBySimilarity,
  type EnrolledPerson,
  embeddingSimilarities,
  type IdentificationRule,
  type QualityGate,
  recognisable,
} from '../../lib/pipeline/recognition';
import type { StreamFace } from './faceStream';

/**
 * Open-set identification (1:N): a gallery of enrolled people, probes of those people not used to enrol them (mated),
 * and faces of nobody in the gallery (strangers). A stranger named as anyone is a false identification; the
 * false-identification rate (FIR) is counted per stranger face, the true-identification rate (TIR) per mated face.
 *
 * The decision is the pipeline's own (`assignBySimilarity` with the quality gate, per photo: one person at most once
 * in a photo), so the numbers are those of the recognise stage for the same embeddings.
 */

export interface Protocol {
  name: string;
  /** What the gallery and probes are, in words, for the report. */
  description: string;
  gallery: EnrolledPerson[];
  /** Faces of gallery people not used to enrol them. */
  mated: StreamFace[];
  /** Faces of nobody in the gallery. */
  strangers: StreamFace[];
}

/** Who a probe face is, as far as the data says: one of these people, or nobody enrolled (a stranger). */
const truthOf = (face: StreamFace): string[] | null =>
  face.identity ? [face.identity] : face.candidates ? face.candidates : null;

/** One photo's probe faces with their face x person similarities, computed once for every rule tried. */
interface ScoredPhoto {
  faces: { face: StreamFace; truth: string[] | null }[];
  similarity: number[][];
}

export interface ScoredProtocol {
  protocol: Protocol;
  photos: ScoredPhoto[];
}

export function scoreProtocol(protocol: Protocol): ScoredProtocol {
  const byFile = new Map<string, { face: StreamFace; truth: string[] | null }[]>();
  for (const face of protocol.mated)
    byFile.set(face.file, [...(byFile.get(face.file) ?? []), { face, truth: truthOf(face) }]);
  for (const face of protocol.strangers)
    byFile.set(face.file, [...(byFile.get(face.file) ?? []), { face, truth: null }]);
  const photos = [...byFile.values()].map((faces) => ({
    faces,
    similarity: embeddingSimilarities(
      faces.map(({ face }) => face.embedding),
      protocol.gallery,
    ).map((row) => [...row]),
  }));
  return { protocol, photos };
}

export interface OpenSetRates {
  strangers: number;
  mated: number;
  /** Strangers given a name. */
  falseIdentifications: number;
  fir: number;
  /** Mated faces given their own name. */
  trueIdentifications: number;
  tir: number;
  /** Mated faces given someone else's name. */
  wrongNames: number;
  /** Mated faces left unknown because they failed the quality gate. */
  matedGated: number;
  /** Strangers left unknown because they failed the quality gate. */
  strangersGated: number;
}

/** Every probe decided with `rule` and `gate`, counted. */
export function openSetRates(scored: ScoredProtocol, rule: IdentificationRule, gate: QualityGate): OpenSetRates {
  const { gallery } = scored.protocol;
  const rates = noCounts();
  for (const photo of scored.photos) {
    const identities = assignBySimilarity(photo.similarity, gallery, rule, -1, (f) =>
      recognisable((photo.faces[f] as ScoredPhoto['faces'][number]).face, gate),
    );
    photo.faces.forEach(({ face, truth }, i) => {
      const named = identities[i]?.personId ?? null;
      const gated = !recognisable(face, gate);
      if (truth === null) {
        rates.strangers++;
        if (named !== null) rates.falseIdentifications++;
        if (gated) rates.strangersGated++;
        return;
      }
      rates.mated++;
      if (gated) rates.matedGated++;
      if (named !== null && truth.includes(named)) rates.trueIdentifications++;
      else if (named !== null) rates.wrongNames++;
    });
  }
  return withRates(rates);
}

type Counts = Omit<OpenSetRates, 'fir' | 'tir'>;

const noCounts = (): Counts => ({
  strangers: 0,
  mated: 0,
  falseIdentifications: 0,
  trueIdentifications: 0,
  wrongNames: 0,
  matedGated: 0,
  strangersGated: 0,
});

/** The counts with their rates: FIR per stranger face, TIR per mated face. */
function withRates(counts: Counts): OpenSetRates {
  return {
    ...counts,
    fir: counts.strangers > 0 ? counts.falseIdentifications / counts.strangers : 0,
    tir: counts.mated > 0 ? counts.trueIdentifications / counts.mated : 0,
  };
}

export interface CurvePoint extends OpenSetRates {
  threshold: number;
}

/** The rates over a range of thresholds (the margin and gate fixed): the FIR/TIR curve. */
export function openSetCurve(
  scored: ScoredProtocol,
  thresholds: readonly number[],
  margin: number,
  gate: QualityGate,
): CurvePoint[] {
  return thresholds.map((threshold) => ({ threshold, ...openSetRates(scored, { threshold, margin }, gate) }));
}

/** Thresholds from `from` to `to` in `step`s, rounded to the step's decimals. */
export function thresholdGrid(from: number, to: number, step: number): number[] {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const grid: number[] = [];
  for (let t = from; t <= to + step / 2; t += step) grid.push(Number(t.toFixed(digits)));
  return grid;
}

/**
 * The lowest threshold of the grid from which on the FIR stays at most `targetFir` (scanning down from the top, so a
 * lucky dip below the target further down does not count); the grid's last when even that one misses.
 */
export function thresholdForFir(curve: readonly CurvePoint[], targetFir: number): number {
  let chosen = curve[curve.length - 1]?.threshold ?? 1;
  for (let i = curve.length - 1; i >= 0 && (curve[i] as CurvePoint).fir <= targetFir; i--) {
    chosen = (curve[i] as CurvePoint).threshold;
  }
  return chosen;
}

/** A small seeded generator (mulberry32): the calibration splits are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a threshold is calibrated (`calibrateThreshold`). */
export interface CalibrationOptions {
  targetFir: number;
  margin: number;
  gate: QualityGate;
  grid: readonly number[];
  splits: number;
  seed: number;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** A value rounded up to the grid's step (what ships of a calibration's mean threshold). */
function roundedUpToGrid(value: number, grid: readonly number[]): number {
  const step = (grid[1] ?? 0) - (grid[0] ?? 0) || 0.01;
  return Number((Math.ceil(value / step - 1e-9) * step).toFixed(4));
}

export interface CalibrationSplit {
  threshold: number;
  heldOut: OpenSetRates;
}

export interface Calibration {
  targetFir: number;
  margin: number;
  splits: CalibrationSplit[];
  /** The lowest and highest threshold the splits chose. */
  thresholdRange: [number, number];
  meanThreshold: number;
  /** The mean rounded up to the grid's step: the threshold to ship. */
  threshold: number;
  heldOutFir: number;
  heldOutTir: number;
}

/**
 * Calibrates the threshold for a target FIR without testing on what it was chosen on: the strangers are split in
 * halves by who they are (an LFW person, or a WIDER photo, goes wholly to one half) `splits` times; on each split the
 * lowest threshold reaching the target on one half is tested on the other half (with every mated face). The threshold
 * to ship is the mean over splits, rounded up to the grid's step.
 */
export function calibrateThreshold(protocol: Protocol, options: CalibrationOptions): Calibration {
  const unitOf = (face: StreamFace) => (face.identity ? `person:${face.identity}` : `photo:${face.file}`);
  const units = [...new Set(protocol.strangers.map(unitOf))].sort();
  const random = seededRandom(options.seed);
  const splits: CalibrationSplit[] = [];
  for (let s = 0; s < options.splits; s++) {
    const half = new Set(units.filter(() => random() < 0.5));
    const part = (inHalf: boolean) =>
      scoreProtocol({ ...protocol, strangers: protocol.strangers.filter((f) => half.has(unitOf(f)) === inHalf) });
    const tuning = openSetCurve(part(true), options.grid, options.margin, options.gate);
    const threshold = thresholdForFir(tuning, options.targetFir);
    splits.push({ threshold, heldOut: openSetRates(part(false), { threshold, margin: options.margin }, options.gate) });
  }
  const meanThreshold = mean(splits.map((s) => s.threshold));
  const threshold = roundedUpToGrid(meanThreshold, options.grid);
  return {
    targetFir: options.targetFir,
    margin: options.margin,
    splits,
    thresholdRange: [Math.min(...splits.map((s) => s.threshold)), Math.max(...splits.map((s) => s.threshold))],
    meanThreshold,
    threshold,
    heldOutFir: mean(splits.map((s) => s.heldOut.fir)),
    heldOutTir: mean(splits.map((s) => s.heldOut.tir)),
  };
}

/**
 * `draws` galleries of `people` people drawn at random (seeded) from the protocol's gallery: the probes of the people
 * drawn stay mated, the probes of the others become strangers (as are the protocol's strangers).
 */
export function drawnGalleries(protocol: Protocol, people: number, draws: number, seed: number): Protocol[] {
  const random = seededRandom(seed);
  return Array.from({ length: draws }, (_, d) => {
    const drawn = protocol.gallery
      .map((person) => ({ person, key: random() }))
      .sort((a, b) => a.key - b.key)
      .slice(0, people)
      .map(({ person }) => person);
    const ids = new Set(drawn.map((p) => p.personId));
    const isDrawn = (face: StreamFace) => face.identity !== undefined && ids.has(face.identity);
    return {
      ...protocol,
      name: `${protocol.name}, ${people} drawn (${d + 1})`,
      gallery: drawn,
      mated: protocol.mated.filter(isDrawn),
      strangers: [...protocol.strangers, ...protocol.mated.filter((f) => !isDrawn(f))],
    };
  });
}

export interface SizeCalibration {
  people: number;
  draws: number;
  /** The lowest and highest threshold over every draw's splits. */
  thresholdRange: [number, number];
  meanThreshold: number;
  /** The mean rounded up to the grid's step. */
  threshold: number;
  heldOutFir: number;
  /** Over the draws whose people have probes (a person enrolled with all their photos has none). */
  heldOutTir: number;
}

/**
 * The threshold for a target FIR at smaller galleries: for each size, `draws(size)` galleries drawn from the
 * protocol's (`drawnGalleries`), each calibrated as the full gallery is (`calibrateThreshold`: strangers split in
 * halves by who they are, the lowest threshold reaching the target on one half tested on the other); the size's
 * threshold is the mean over every draw and split, rounded up to the grid's step.
 */
export function calibrateByGallerySize(
  protocol: Protocol,
  sizes: readonly number[],
  options: CalibrationOptions & { draws: (people: number) => number },
): SizeCalibration[] {
  return sizes.map((people) => {
    const draws = options.draws(people);
    const galleries = drawnGalleries(protocol, people, draws, options.seed + people);
    const calibrations = galleries.map((gallery, d) =>
      calibrateThreshold(gallery, { ...options, seed: options.seed + 1000 * people + d }),
    );
    const thresholds = calibrations.flatMap((c) => c.splits.map((s) => s.threshold));
    const meanThreshold = mean(thresholds);
    return {
      people,
      draws,
      thresholdRange: [Math.min(...thresholds), Math.max(...thresholds)],
      meanThreshold,
      threshold: roundedUpToGrid(meanThreshold, options.grid),
      heldOutFir: mean(calibrations.map((c) => c.heldOutFir)),
      heldOutTir: mean(calibrations.filter((_, d) => galleries[d]?.mated.length).map((c) => c.heldOutTir)),
    };
  });
}

/** Every gallery decided with one rule, counted together (strangers and probes summed over the galleries). */
export function pooledRates(galleries: readonly Protocol[], rule: IdentificationRule, gate: QualityGate): OpenSetRates {
  const total = noCounts();
  for (const gallery of galleries) {
    const rates = openSetRates(scoreProtocol(gallery), rule, gate);
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += rates[key];
  }
  return withRates(total);
}

/** The strangers that came closest to being named, for the report: who they looked like and how much. */
export function closestStrangers(
  scored: ScoredProtocol,
  count: number,
): { file: string; set: string; side: number; score: number; person: string; similarity: number; runnerUp: number }[] {
  const rows = scored.photos.flatMap((photo) =>
    photo.faces.flatMap(({ face, truth }, i) => {
      if (truth !== null) return [];
      const row = photo.similarity[i] ?? [];
      const order = row.map((s, p) => ({ s, p })).sort((a, b) => b.s - a.s);
      const best = order[0];
      if (!best) return [];
      return [
        {
          file: face.file,
          set: face.set,
          side: Math.round(Math.min(face.box.width, face.box.height)),
          score: face.score,
          person: scored.protocol.gallery[best.p]?.personId ?? '',
          similarity: best.s,
          runnerUp: order[1]?.s ?? -1,
        },
      ];
    }),
  );
  return rows.sort((a, b) => b.similarity - a.similarity).slice(0, count);
}

// ---------------------------------------------------------------------------------------------------------------
// The protocols, from the face stream

const enrol = (personId: string, faces: readonly StreamFace[]): EnrolledPerson => ({
  personId,
  name: personId,
  details: {},
  embeddings: faces.map((f) => f.embedding),
});

function byIdentity(faces: readonly StreamFace[]): Map<string, StreamFace[]> {
  const people = new Map<string, StreamFace[]>();
  for (const face of faces) if (face.identity) people.set(face.identity, [...(people.get(face.identity) ?? []), face]);
  return people;
}

/**
 * LFW fold 1 at (up to) 100 people: every person with at least 3 photos is enrolled with their first 3 (by file
 * name) and their other photos are the mated probes; the gallery is filled up to `gallerySize` with people who have
 * exactly 2 photos, enrolled with both (they add no probes). Everyone else in fold 1, and every WIDER face, is a
 * stranger.
 */
export function lfwProtocol(stream: readonly StreamFace[], gallerySize = 100): Protocol {
  const people = byIdentity(stream.filter((f) => f.set === 'lfw'));
  const withThree = [...people].filter(([, faces]) => faces.length >= 3);
  const fillers = [...people]
    .filter(([, faces]) => faces.length === 2)
    .slice(0, Math.max(0, gallerySize - withThree.length));
  const enrolled = new Set([...withThree, ...fillers].map(([id]) => id));
  return {
    name: 'LFW fold 1',
    description:
      `${withThree.length} people with 3+ photos enrolled with 3 each, ${fillers.length} with 2 photos enrolled ` +
      `with both (${withThree.length + fillers.length} people, ${withThree.length * 3 + fillers.length * 2} ` +
      'embeddings); probes: their other photos; strangers: the other LFW fold-1 people and every WIDER face',
    gallery: [
      ...withThree.map(([id, faces]) => enrol(id, faces.slice(0, 3))),
      ...fillers.map(([id, f]) => enrol(id, f)),
    ],
    mated: withThree.flatMap(([, faces]) => faces.slice(3)),
    strangers: stream.filter((f) => (f.set === 'lfw' && f.identity && !enrolled.has(f.identity)) || f.stranger),
  };
}

/** The strangers for the galleries not drawn from LFW: every labelled LFW face and every WIDER face. */
const foreignStrangers = (stream: readonly StreamFace[]) =>
  stream.filter((f) => (f.set === 'lfw' && f.identity) || f.stranger);

/**
 * The deepface unit set: each of its 13 people enrolled with their first 2 photos (1 for those with 2), the rest are
 * mated probes; strangers: LFW and WIDER.
 */
export function deepfaceProtocol(stream: readonly StreamFace[]): Protocol {
  const people = [...byIdentity(stream.filter((f) => f.set === 'deepface'))];
  const enrolCount = (faces: StreamFace[]) => (faces.length >= 3 ? 2 : 1);
  return {
    name: 'deepface unit set',
    description:
      `${people.length} people enrolled with their first 2 photos (1 when they have 2); probes: their other photos; ` +
      'strangers: every LFW fold-1 face and every WIDER face',
    gallery: people.map(([id, faces]) => enrol(id, faces.slice(0, enrolCount(faces)))),
    mated: people.flatMap(([, faces]) => faces.slice(enrolCount(faces))),
    strangers: foreignStrangers(stream),
  };
}

/** The knn examples: enrolled from the train folder, probes are the test photos (two of them show two people). */
export function knnProtocol(stream: readonly StreamFace[]): Protocol {
  const knn = stream.filter((f) => f.set === 'knn');
  const people = [...byIdentity(knn.filter((f) => f.split === 'train'))];
  return {
    name: 'knn examples',
    description:
      `${people.length} people enrolled from the train folder (${knn.filter((f) => f.split === 'train' && f.identity).length} ` +
      'photos); probes: the test photos (two show two people, each face counted right when named as either); ' +
      'strangers: every LFW fold-1 face and every WIDER face',
    gallery: people.map(([id, faces]) => enrol(id, faces)),
    mated: knn.filter((f) => f.split === 'test' && (f.identity || f.candidates)),
    strangers: foreignStrangers(stream),
  };
}

/** All three galleries at once (the realistic case: one gallery, faces from everywhere). */
export function combinedProtocol(protocols: readonly Protocol[], stream: readonly StreamFace[]): Protocol {
  const gallery = protocols.flatMap((p) => p.gallery);
  const enrolled = new Set(gallery.map((p) => p.personId));
  return {
    name: 'all three galleries',
    description: `the ${protocols.map((p) => p.name).join(', ')} galleries together (${gallery.length} people); their probes; strangers: the LFW fold-1 people not enrolled and every WIDER face`,
    gallery,
    mated: protocols.flatMap((p) => p.mated),
    strangers: stream.filter((f) => (f.set === 'lfw' && f.identity && !enrolled.has(f.identity)) || f.stranger),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The quality gate's evidence

export interface QualityBin {
  label: string;
  faces: number;
  /** Median, over the bin's faces, of the similarity to the most alike face of another photo. */
  medianNearestOther: number;
  p95NearestOther: number;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

/**
 * How much identity a face's embedding carries, by its size and detection score: for the WIDER faces (crowds of
 * strangers), the similarity to the most alike face of any other photo. Embeddings of tiny or unsure faces crowd
 * together (every small blurred face looks like every other), which is what the quality gate keeps out.
 */
export function qualityBins(stream: readonly StreamFace[]): { bySize: QualityBin[]; byScore: QualityBin[] } {
  const wider = stream.filter((f) => f.set === 'wider');
  const side = (f: StreamFace) => Math.min(f.box.width, f.box.height);
  const nearestOther = (face: StreamFace, pool: readonly StreamFace[]) => {
    let best = -1;
    for (const other of pool) {
      if (other.file === face.file) continue;
      let dot = 0;
      for (let i = 0; i < face.embedding.length; i++)
        dot += (face.embedding[i] as number) * (other.embedding[i] as number);
      best = Math.max(best, dot);
    }
    return best;
  };
  const bin = (label: string, faces: StreamFace[], pool: readonly StreamFace[]): QualityBin => {
    const values = faces.map((f) => nearestOther(f, pool)).sort((a, b) => a - b);
    return {
      label,
      faces: faces.length,
      medianNearestOther: quantile(values, 0.5),
      p95NearestOther: quantile(values, 0.95),
    };
  };
  const sizes = [0, 16, 24, 32, 48, 80, Number.POSITIVE_INFINITY];
  const bySize = sizes.slice(0, -1).map((from, i) => {
    const to = sizes[i + 1] as number;
    return bin(
      Number.isFinite(to) ? `${from}-${to} px` : `${from}+ px`,
      wider.filter((f) => side(f) >= from && side(f) < to),
      wider,
    );
  });
  const big = wider.filter((f) => side(f) >= 32);
  const scores = [0.6, 0.7, 0.8, 0.9, 1.01];
  const byScore = scores.slice(0, -1).map((from, i) =>
    bin(
      `${from.toFixed(1)}-${Math.min(1, scores[i + 1] as number).toFixed(1)}`,
      big.filter((f) => f.score >= from && f.score < (scores[i + 1] as number)),
      big,
    ),
  );
  return { bySize, byScore };
}
