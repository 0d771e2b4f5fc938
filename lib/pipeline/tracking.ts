import { cosineSimilarity } from '../vision/analysers/embedder';
import { iou } from '../vision/detect/nms';
import type { Box, Emotion } from '../vision/types';
import type { EmotionRun, EmotionWindow, PersonSeen } from './records';

/**
 * Face tracks: the faces of a video's sampled frames linked into one track per appearance of a person, then who each
 * track is, its best face, its emotions over time, and the video's summary. Pure: faces in, tracks out (the tracks
 * stage feeds it stored faces, `facepipe analyze` faces analysed on the spot). docs/video.md explains the choices.
 */

/** A face as tracking sees it. */
export interface TrackableFace {
  faceId: string;
  /** The frame's slot on the sampling grid, and its time in seconds. */
  frame: number;
  at: number;
  box: Box;
  embedding?: Float32Array;
  /** The detector's score (the recognition quality gate reads it). */
  score?: number;
  quality: number;
  emotion?: Emotion;
  /** The person the frame's recognition gave it (null: unknown; undefined: not decided). */
  personId?: string | null;
  similarity?: number;
}

export interface TrackingOptions {
  /** A track survives this many seconds without its face. */
  gapSeconds: number;
  /** Cosine similarity at or above which two faces are the same person (the calibrated match threshold). */
  matchThreshold: number;
  /** Times of shot cuts (seconds): only a face's likeness links across one, never its place in the frame. */
  cuts: readonly number[];
}

/**
 * Likeness alone (another place in the frame, across a cut, after a gap) links two faces only this far above the
 * match threshold, and only good pictures of faces: at least LIKENESS_MIN_SIDE pixels high and of quality at least
 * LIKENESS_MIN_QUALITY, compared with the mean of the track's good pictures. Embeddings of tiny, blurred or turned
 * faces resemble each other whoever they are (seen on the Hamilton clip: a profile and a blurred face behind it).
 */
export const LIKENESS_MARGIN = 0.1;
export const LIKENESS_MIN_SIDE = 40;
export const LIKENESS_MIN_QUALITY = 0.1;

/** Boxes overlapping at least this much (IoU) in consecutive samples of one shot are the same face… */
export const LINK_IOU = 0.3;
/** …unless their faces are clearly unalike: below this similarity two overlapping faces are two people. */
export const LINK_MIN_SIMILARITY = 0.05;

/**
 * Within a shot, a face that neither place (IoU) nor likeness linked continues the open track it is nearest to when
 * each is the other's nearest: a head that moved fast or a box that shifted (a turning profile, a panning camera).
 * Near means a box of about the same size (the larger side at most NEAR_SIZE_RATIO times the smaller) whose centre
 * moved at most NEAR_MAX_STEP times the boxes' mean height since the track's last face; boxes of another size are
 * other people, however close (a face in the background).
 */
export const NEAR_MAX_STEP = 1;
export const NEAR_SIZE_RATIO = 1.5;

export interface Track<F extends TrackableFace = TrackableFace> {
  faces: F[];
}

function normalised(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  return vector.map((v) => v / norm);
}

/** How far apart two boxes are, in their mean heights; Infinity when their sizes differ too much to be one face. */
function nearness(a: Box, b: Box): number {
  const ratio = Math.max(a.height, b.height) / Math.max(1, Math.min(a.height, b.height));
  if (ratio > NEAR_SIZE_RATIO) return Number.POSITIVE_INFINITY;
  const dx = a.x + a.width / 2 - (b.x + b.width / 2);
  const dy = a.y + a.height / 2 - (b.y + b.height / 2);
  return Math.hypot(dx, dy) / ((a.height + b.height) / 2);
}

/** The pairs of an open track and a face of this frame, both left unlinked, that are each other's nearest. */
function nearestPairs<F extends TrackableFace>(
  open: readonly OpenTrack<F>[],
  here: readonly F[],
  takenTracks: ReadonlySet<OpenTrack<F>>,
  takenFaces: ReadonlySet<F>,
  cutBetween: (from: number, to: number) => boolean,
  at: number,
): { track: OpenTrack<F>; face: F }[] {
  const reachable = open.filter((track) => !cutBetween(track.last.at, at) && track.last.at < at);
  const nearest = <U>(among: readonly U[], distance: (u: U) => number) => {
    let best: U | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const u of among) {
      const d = distance(u);
      if (d < bestDistance) [best, bestDistance] = [u, d];
    }
    return bestDistance <= NEAR_MAX_STEP ? best : undefined;
  };
  const pairs: { track: OpenTrack<F>; face: F }[] = [];
  for (const track of reachable) {
    if (takenTracks.has(track)) continue;
    // Nearest among every face of the frame (a nearer face taken by another link blocks this one)…
    const face = nearest(here, (f) => nearness(track.last.box, f.box));
    if (!face || takenFaces.has(face)) continue;
    // …and the face's nearest among every open track of the shot.
    if (nearest(reachable, (t) => nearness(t.last.box, face.box)) !== track) continue;
    const similarity =
      track.likeness && face.embedding
        ? cosineSimilarity(normalised(track.likeness), normalised(face.embedding))
        : undefined;
    if (similarity !== undefined && similarity < LINK_MIN_SIMILARITY) continue;
    pairs.push({ track, face });
  }
  return pairs;
}

interface OpenTrack<F extends TrackableFace> {
  faces: F[];
  last: F;
  /** Sum of the faces' embeddings (its direction is the track's mean likeness). */
  likeness?: Float32Array;
  /** The same over its good pictures only (what a likeness link compares with). */
  goodLikeness?: Float32Array;
}

const isGoodPicture = (face: TrackableFace) =>
  face.embedding !== undefined &&
  face.quality >= LIKENESS_MIN_QUALITY &&
  Math.min(face.box.width, face.box.height) >= LIKENESS_MIN_SIDE;

function add(sum: Float32Array | undefined, vector: Float32Array): Float32Array {
  if (!sum) return Float32Array.from(vector);
  return sum.map((v, i) => v + (vector[i] as number));
}

function joined<F extends TrackableFace>(track: OpenTrack<F> | undefined, face: F): OpenTrack<F> {
  const next = track ?? { faces: [], last: face };
  next.faces.push(face);
  next.last = face;
  if (face.embedding) {
    const unit = normalised(face.embedding);
    next.likeness = add(next.likeness, unit);
    if (isGoodPicture(face)) next.goodLikeness = add(next.goodLikeness, unit);
  }
  return next;
}

/**
 * Links faces into tracks, frame by frame in time order. A face continues the open track it matches best: the same
 * place in consecutive samples of one shot (IoU ≥ LINK_IOU, and not clearly unalike), or the same likeness (the
 * mean embedding of the track's good pictures LIKENESS_MARGIN above the match threshold, the face a good picture
 * too) anywhere, also across a shot cut. One face per track per
 * frame. A track not continued for `gapSeconds` is closed; a face no open track takes starts a new one.
 */
export function linkTracks<F extends TrackableFace>(faces: readonly F[], options: TrackingOptions): Track<F>[] {
  const byFrame = new Map<number, F[]>();
  for (const face of faces) byFrame.set(face.frame, [...(byFrame.get(face.frame) ?? []), face]);
  const frames = [...byFrame.keys()].sort((a, b) => a - b);
  const cuts = [...options.cuts].sort((a, b) => a - b);
  const cutBetween = (from: number, to: number) => cuts.some((c) => c > from + 1e-6 && c <= to + 1e-6);
  const open: OpenTrack<F>[] = [];
  const closed: OpenTrack<F>[] = [];
  for (const frame of frames) {
    const here = byFrame.get(frame) as F[];
    const at = (here[0] as F).at;
    for (let i = open.length - 1; i >= 0; i--) {
      const track = open[i] as OpenTrack<F>;
      if (at - track.last.at > options.gapSeconds + 1e-6) closed.push(...open.splice(i, 1));
    }
    const pairs: { track: OpenTrack<F>; face: F; score: number }[] = [];
    for (const track of open) {
      for (const face of here) {
        const unit = face.embedding && normalised(face.embedding);
        const similarity = track.likeness && unit ? cosineSimilarity(normalised(track.likeness), unit) : undefined;
        const goodSimilarity =
          track.goodLikeness && unit && isGoodPicture(face)
            ? cosineSimilarity(normalised(track.goodLikeness), unit)
            : undefined;
        const overlap = cutBetween(track.last.at, at) ? 0 : iou(track.last.box, face.box);
        const samePlace = overlap >= LINK_IOU && (similarity === undefined || similarity >= LINK_MIN_SIMILARITY);
        const sameLikeness = goodSimilarity !== undefined && goodSimilarity >= options.matchThreshold + LIKENESS_MARGIN;
        if (samePlace || sameLikeness) pairs.push({ track, face, score: (similarity ?? 0) + overlap });
      }
    }
    pairs.sort((a, b) => b.score - a.score);
    const takenTracks = new Set<OpenTrack<F>>();
    const takenFaces = new Set<F>();
    for (const { track, face } of pairs) {
      if (takenTracks.has(track) || takenFaces.has(face)) continue;
      takenTracks.add(track);
      takenFaces.add(face);
      joined(track, face);
    }
    for (const { track, face } of nearestPairs(open, here, takenTracks, takenFaces, cutBetween, at)) {
      takenTracks.add(track);
      takenFaces.add(face);
      joined(track, face);
    }
    for (const face of here) if (!takenFaces.has(face)) open.push(joined(undefined, face));
  }
  return [...closed, ...open]
    .map((track) => ({ faces: track.faces }))
    .sort((a, b) => (a.faces[0] as F).at - (b.faces[0] as F).at || (a.faces[0] as F).box.x - (b.faces[0] as F).box.x);
}

export interface TrackIdentity {
  personId: string | null;
  /** Faces of the track recognised as that person. */
  votes: number;
  /** votes / faces of the track. */
  share: number;
  /** The best similarity among the agreeing faces (for unknown: the best similarity to anyone). */
  similarity: number;
  /**
   * Named after this track of the same video by likeness (`nameTracksByLikeness`): `votes` and `similarity` are then
   * its faces' likeness to that track, not to the person's enrolment.
   */
  likeTrack?: number;
}

/** A track is named when at least this share of its faces were recognised as the person… */
export const NAMING_MIN_SHARE = 0.3;

/**
 * Who each track is: the person most of its faces were recognised as (each frame's recognition already gave a
 * person to at most one face of the frame), when they are at least NAMING_MIN_SHARE of its faces and more than any
 * other person's. Two tracks seen at the same time cannot be one person: the one with more votes keeps them, the
 * other is unknown.
 */
export function voteIdentities(tracks: readonly Track[]): TrackIdentity[] {
  const candidates = tracks.map((track) => {
    const votes = new Map<string, { votes: number; similarity: number }>();
    for (const face of track.faces) {
      if (!face.personId) continue;
      const entry = votes.get(face.personId) ?? { votes: 0, similarity: -1 };
      votes.set(face.personId, {
        votes: entry.votes + 1,
        similarity: Math.max(entry.similarity, face.similarity ?? -1),
      });
    }
    const ranked = [...votes.entries()].sort((a, b) => b[1].votes - a[1].votes || b[1].similarity - a[1].similarity);
    const [best, second] = ranked;
    const share = best ? best[1].votes / track.faces.length : 0;
    const named = best !== undefined && share >= NAMING_MIN_SHARE && best[1].votes > (second?.[1].votes ?? 0);
    return { track, best: named ? best : undefined, share };
  });
  const unknown = (track: Track): TrackIdentity => ({
    personId: null,
    votes: 0,
    share: 0,
    similarity: Math.max(-1, ...track.faces.map((f) => f.similarity ?? -1)),
  });
  const identities: TrackIdentity[] = tracks.map(unknown);
  const given = new Map<string, Track[]>();
  const order = candidates
    .map((c, i) => ({ ...c, i }))
    .filter((c) => c.best)
    .sort((a, b) => (b.best?.[1].votes ?? 0) - (a.best?.[1].votes ?? 0));
  for (const { track, best, share, i } of order) {
    const [personId, vote] = best as [string, { votes: number; similarity: number }];
    const frames = new Set(track.faces.map((f) => f.frame));
    const others = given.get(personId) ?? [];
    if (others.some((other) => other.faces.some((f) => frames.has(f.frame)))) continue;
    given.set(personId, [...others, track]);
    identities[i] = {
      personId,
      votes: vote.votes,
      share: Math.round(share * 1000) / 1000,
      similarity: vote.similarity,
    };
  }
  return identities;
}

/**
 * How an unnamed track takes the name of a named track of the same video it looks like: the calibrated rule by which
 * an unknown face joins a cluster (cosine to the cluster's centroid at least `threshold`), with the identification
 * margin over every other person, on the faces the recognition quality gate lets through.
 */
export interface LikenessNaming {
  /** recognition.clusterThreshold (reports/eval.md, clustering: pairwise precision 1.000 on every set at 0.49). */
  threshold: number;
  /** recognition.margin: the best person must beat every other person by this much. */
  margin: number;
  /** recognition.minFaceSize and minScore: smaller or less sure faces take no part (their embeddings crowd). */
  minFaceSize: number;
  minScore: number;
}

const recognisable = (face: TrackableFace, rule: LikenessNaming) =>
  face.embedding !== undefined &&
  Math.min(face.box.width, face.box.height) >= rule.minFaceSize &&
  (face.score ?? 0) >= rule.minScore;

const framesOverlap = (a: Track, b: Track) => {
  const frames = new Set(a.faces.map((f) => f.frame));
  return b.faces.some((f) => frames.has(f.frame));
};

/**
 * Tracks of one video that stayed unknown, named after a named track they look like (a person seen frontal in one
 * shot and small or turned in another). A named track (named by its own faces, never by likeness: one hop, no
 * chains) stands for its person by its centroid, the mean direction of its recognisable faces. Each recognisable face
 * of an unnamed track votes for the person whose centroid it is most alike, when that is at least `threshold` and
 * beats every other person's by `margin`; the track is named as the faces' vote names a track (at least
 * NAMING_MIN_SHARE of all its faces, more than any other person), never after a person it is seen at the same time as.
 * Faces are compared one by one with a centroid, as the threshold was calibrated (a face joining a cluster); two
 * means are not compared with each other, as the cosine of two means of noisy faces is inflated.
 */
export function nameTracksByLikeness(
  tracks: readonly Track[],
  identities: readonly TrackIdentity[],
  rule: LikenessNaming,
): TrackIdentity[] {
  const named: { index: number; personId: string; centroid: Float32Array }[] = [];
  tracks.forEach((track, index) => {
    const personId = identities[index]?.personId;
    if (!personId) return;
    let sum: Float32Array | undefined;
    for (const face of track.faces) {
      if (recognisable(face, rule)) sum = add(sum, normalised(face.embedding as Float32Array));
    }
    if (sum) named.push({ index, personId, centroid: normalised(sum) });
  });
  const result = [...identities];
  const personTracks = (personId: string) =>
    tracks.filter((_, i) => result[i]?.personId === personId) as readonly Track[];
  const candidates = tracks
    .map((track, index) => {
      if (result[index]?.personId) return undefined;
      const votes = new Map<string, { votes: number; similarity: number; likeTrack: number }>();
      for (const face of track.faces) {
        if (!recognisable(face, rule)) continue;
        const unit = normalised(face.embedding as Float32Array);
        const byPerson = new Map<string, { similarity: number; likeTrack: number }>();
        for (const { index: other, personId, centroid } of named) {
          const similarity = cosineSimilarity(unit, centroid);
          if (similarity > (byPerson.get(personId)?.similarity ?? -2))
            byPerson.set(personId, { similarity, likeTrack: other });
        }
        const [best, second] = [...byPerson.entries()].sort((a, b) => b[1].similarity - a[1].similarity);
        if (!best || best[1].similarity < rule.threshold) continue;
        if (second && best[1].similarity - second[1].similarity < rule.margin) continue;
        const entry = votes.get(best[0]) ?? { votes: 0, similarity: -1, likeTrack: best[1].likeTrack };
        votes.set(best[0], {
          votes: entry.votes + 1,
          ...(best[1].similarity > entry.similarity
            ? best[1]
            : { similarity: entry.similarity, likeTrack: entry.likeTrack }),
        });
      }
      const [best, second] = [...votes.entries()].sort((a, b) => b[1].votes - a[1].votes);
      if (!best) return undefined;
      const share = best[1].votes / track.faces.length;
      if (share < NAMING_MIN_SHARE || best[1].votes <= (second?.[1].votes ?? 0)) return undefined;
      return { index, personId: best[0], share, ...best[1] };
    })
    .filter((c) => c !== undefined)
    .sort((a, b) => b.votes - a.votes || b.similarity - a.similarity);
  for (const { index, personId, votes, share, similarity, likeTrack } of candidates) {
    const track = tracks[index] as Track;
    if (personTracks(personId).some((other) => framesOverlap(other, track))) continue;
    result[index] = { personId, votes, share: Math.round(share * 1000) / 1000, similarity, likeTrack };
  }
  return result;
}

/**
 * A glimpse: a track of one sampled frame whose face the recognition quality gate would not name (under
 * `minFaceSize` pixels or a detection score under `minScore`: a blurred or dim face in the background). It stays a
 * track (its span, best face, emotion), but is not counted as a person seen (docs/video.md, over-segmentation).
 */
export function isGlimpse(track: Track, gate: Pick<LikenessNaming, 'minFaceSize' | 'minScore'>): boolean {
  const [face] = track.faces;
  return (
    track.faces.length === 1 &&
    face !== undefined &&
    (Math.min(face.box.width, face.box.height) < gate.minFaceSize || (face.score ?? 0) < gate.minScore)
  );
}

/** The track's face with the highest quality score (the earliest of equals). */
export function bestFaceOf<F extends TrackableFace>(track: Track<F>): F {
  return track.faces.reduce((best, face) => (face.quality > best.quality ? face : best));
}

/** The track's emotions over time: runs of consecutive faces with the same label (faces without one are skipped). */
export function emotionRuns(track: Track): EmotionRun[] {
  const runs: EmotionRun[] = [];
  for (const face of track.faces) {
    if (!face.emotion) continue;
    const last = runs.at(-1);
    if (last && last.label === face.emotion) {
      last.to = face.at;
      last.faces++;
    } else runs.push({ from: face.at, to: face.at, label: face.emotion, faces: 1 });
  }
  return runs;
}

/** At most this many windows in a summary: a longer video gets wider windows (a DynamoDB item holds 400 KB). */
export const MAX_SUMMARY_WINDOWS = 1800;

/** How the room felt: per window of time, how many faces showed each emotion (windows without faces included). */
export function emotionWindows(
  faces: readonly TrackableFace[],
  durationSeconds: number,
  windowSeconds: number,
): { windowSeconds: number; windows: EmotionWindow[] } {
  const width = Math.max(windowSeconds, durationSeconds / MAX_SUMMARY_WINDOWS);
  const lastAt = Math.max(0, ...faces.map((f) => f.at));
  const count = Math.max(1, Math.ceil(Math.max(durationSeconds, lastAt + 1e-3) / width));
  const windows: EmotionWindow[] = Array.from({ length: count }, (_, i) => ({
    at: Math.round(i * width * 1000) / 1000,
    faces: 0,
    emotions: {},
  }));
  for (const face of faces) {
    const window = windows[Math.min(count - 1, Math.floor(face.at / width))] as EmotionWindow;
    window.faces++;
    if (face.emotion) window.emotions[face.emotion] = (window.emotions[face.emotion] ?? 0) + 1;
  }
  return { windowSeconds: Math.round(width * 1000) / 1000, windows };
}

/**
 * Who was seen when: for each named person, their tracks' spans merged (spans closer than `gapSeconds` join), and
 * the seconds on screen. Each sampled face stands for 1/rate of a second, so a one-frame track counts that long.
 */
export function peopleSeen(
  tracks: readonly { track: Track; identity: TrackIdentity }[],
  options: { gapSeconds: number; rate: number },
): PersonSeen[] {
  const byPerson = new Map<string, { from: number; to: number }[]>();
  const counts = new Map<string, number>();
  for (const { track, identity } of tracks) {
    if (!identity.personId) continue;
    const span = { from: (track.faces[0] as TrackableFace).at, to: (track.faces.at(-1) as TrackableFace).at };
    byPerson.set(identity.personId, [...(byPerson.get(identity.personId) ?? []), span]);
    counts.set(identity.personId, (counts.get(identity.personId) ?? 0) + 1);
  }
  const step = 1 / options.rate;
  return [...byPerson.entries()]
    .map(([personId, spans]) => {
      spans.sort((a, b) => a.from - b.from);
      const intervals: { from: number; to: number }[] = [];
      for (const span of spans) {
        const last = intervals.at(-1);
        if (last && span.from - last.to <= options.gapSeconds + 1e-6) last.to = Math.max(last.to, span.to);
        else intervals.push({ ...span });
      }
      const seconds = intervals.reduce((sum, i) => sum + (i.to - i.from) + step, 0);
      return { personId, tracks: counts.get(personId) ?? 0, seconds: Math.round(seconds * 1000) / 1000, intervals };
    })
    .sort((a, b) => (a.intervals[0]?.from ?? 0) - (b.intervals[0]?.from ?? 0));
}
