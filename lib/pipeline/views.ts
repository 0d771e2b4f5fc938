import type { FaceAnalysis } from '../vision/analyser';
import type { Box, Emotion, GenderResult, Point } from '../vision/types';
import type { ErasureReport } from './erasure';
import type { FaceRecord, Identity, ImageRecord, JobRecord, PersonRecord, TrackRecord, VideoSummary } from './records';

/**
 * The public JSON shapes of the results, for every way out (`analyze --json`, `query --json`, the HTTP API): they
 * name what a user may see, never a Rekognition match or an internal index key, and an embedding only when asked for.
 *
 * Two shapes for a face, each named for what it is, with the shared fields in one form (box, score, landmarks,
 * emotion label/confidence/scores, age, gender):
 * - `FaceJson`, a face analysed now (`facepipe analyze --json`): its emotion also in Amazon Rekognition's vocabulary,
 *   so it drops in where a DetectFaces result was read;
 * - `FaceView`, a stored face (query results, the HTTP API): the same fields, `null` for a reading a stage has not
 *   written yet, plus who it is, where its crop and thumbnail are stored and when it was detected. It carries nothing
 *   named after Rekognition (the vocabulary list follows from `scores`), so no API answer can be mistaken for, or leak,
 *   what the Rekognition backend stores (its matches and FaceIds).
 */

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export interface EmotionJson {
  label: Emotion;
  confidence: number;
  scores: Record<Emotion, number>;
  /** The same reading in Amazon Rekognition's vocabulary, most confident first. */
  rekognition: { type: string; confidence: number }[];
}

/** One face as analysed: box, score and landmarks in image pixels, and what the analysers read. */
export interface FaceJson {
  box: Box;
  score: number;
  landmarks: Point[];
  emotion: EmotionJson;
  age?: number;
  gender?: GenderResult;
  /** The 128-d identity embedding, only when asked for. */
  embedding?: number[];
}

const boxJson = (box: Box): Box => ({
  x: round(box.x, 1),
  y: round(box.y, 1),
  width: round(box.width, 1),
  height: round(box.height, 1),
});

const landmarksJson = (landmarks: readonly Point[]): Point[] =>
  landmarks.map(([x, y]) => [round(x, 1), round(y, 1)] as Point);

function emotionJson(emotion: Omit<EmotionJson, 'label'> & { label: Emotion }): EmotionJson {
  return {
    label: emotion.label,
    confidence: round(emotion.confidence, 4),
    scores: Object.fromEntries(Object.entries(emotion.scores).map(([k, v]) => [k, round(v, 4)])) as Record<
      Emotion,
      number
    >,
    rekognition: emotion.rekognition.map((e) => ({ type: e.type, confidence: round(e.confidence, 2) })),
  };
}

function storedEmotionJson(emotion: Omit<EmotionJson, 'label'> & { label: Emotion }) {
  const { rekognition, ...shared } = emotionJson(emotion);
  return shared;
}

const genderJson = (gender: GenderResult): GenderResult => ({
  label: gender.label,
  confidence: round(gender.confidence, 4),
});

/** The public shape of a face that was analysed (`facepipe analyze --json`). */
export function faceJson(face: FaceAnalysis, options: { embedding?: boolean } = {}): FaceJson {
  const json: FaceJson = {
    box: boxJson(face.box),
    score: round(face.score, 4),
    landmarks: landmarksJson(face.landmarks),
    emotion: emotionJson(face.emotion),
  };
  if (face.age !== undefined) json.age = round(face.age, 1);
  if (face.gender) json.gender = genderJson(face.gender);
  if (options.embedding) json.embedding = Array.from(face.embedding, (v) => round(v, 6));
  return json;
}

/** Who the people are that faces name, by id (their records are the one source of their names and details). */
export type PeopleById = ReadonlyMap<string, Pick<PersonRecord, 'personId' | 'name' | 'details'>>;

/** A face's identity as the public sees it: the person's current name and details, or unknown (also when removed). */
function identityView(identity: Identity | undefined, people: PeopleById) {
  if (!identity) return null;
  const person = identity.personId === null ? undefined : people.get(identity.personId);
  if (!person) return { personId: null, similarity: identity.similarity };
  return { personId: person.personId, name: person.name, details: person.details, similarity: identity.similarity };
}

/**
 * The public shape of a stored face (query results, the HTTP API): the analysed face's fields, plus where and who.
 * `people` holds the people its identity names (see `peopleOf` in queries.ts).
 */
export function faceView(face: FaceRecord, people: PeopleById) {
  return {
    faceId: face.faceId,
    image: face.sourceKey,
    index: face.index,
    box: boxJson(face.box),
    score: round(face.score, 4),
    landmarks: landmarksJson(face.landmarks),
    emotion: face.emotion ? storedEmotionJson(face.emotion) : null,
    age: face.age === undefined ? null : round(face.age, 1),
    gender: face.gender ? genderJson(face.gender) : null,
    identity: identityView(face.identity, people),
    /** The cluster of unknown faces it belongs to (null when known, too poor to cluster, or not decided yet). */
    cluster: face.clusterId ?? null,
    crop: face.crop.key,
    thumbnail: face.thumbnailKey,
    detectedAt: face.detectedAt,
    // A face of a video frame: which video, which frame, when.
    ...(face.frame ? { frame: { videoId: face.frame.videoId, index: face.frame.index, at: face.frame.at } } : {}),
  };
}

export type FaceView = ReturnType<typeof faceView>;

/** The public shape of an image record (its status, and the error when it failed). */
export function imageView(image: ImageRecord) {
  return {
    image: image.key,
    imageId: image.imageId,
    status: image.status,
    error: image.error ?? null,
    faces: image.faceCount ?? null,
    facesOmitted: image.facesOmitted ?? 0,
    /** Faces erased with the person they showed (their photo's upload and thumbnail went with them). */
    erasedFaces: image.erasedFaces ?? 0,
    warning: image.warning ?? null,
    size: image.size,
    width: image.width ?? null,
    height: image.height ?? null,
    processedAt: image.processedAt ?? null,
    ...(image.video ? { video: videoDetailsView(image) } : {}),
  };
}

export type ImageView = ReturnType<typeof imageView>;

/** What a video is and how it was sampled (part of its image view). */
function videoDetailsView(image: ImageRecord) {
  const video = image.video as NonNullable<ImageRecord['video']>;
  return {
    container: video.container,
    codec: video.codec ?? null,
    durationSeconds: video.durationSeconds ?? null,
    fps: video.fps ?? null,
    rotation: video.rotation ?? 0,
    sampleRate: video.sampleRate,
    framesSampled: video.framesSampled ?? null,
    shotCuts: video.cuts ?? [],
    tracks: video.tracks ?? null,
    knownTracks: video.knownTracks ?? null,
    brokenAt: video.brokenAt ?? null,
  };
}

/** A person named by id as the public sees them: their current name and details, or null when they are gone. */
function personRef(personId: string | null, people: PeopleById) {
  const person = personId === null ? undefined : people.get(personId);
  return person ? { personId: person.personId, name: person.name, details: person.details } : null;
}

/** The public shape of a face track: when, who (voted; names read now), its best face and its emotions over time. */
export function trackView(track: TrackRecord, people: PeopleById) {
  const person = personRef(track.identity.personId, people);
  return {
    trackId: track.trackId,
    index: track.index,
    firstSeen: track.firstSeen,
    lastSeen: track.lastSeen,
    faces: track.faces.length,
    identity: person
      ? { ...person, votes: track.identity.votes, share: track.identity.share, similarity: track.identity.similarity }
      : { personId: null, votes: 0, share: 0, similarity: track.identity.similarity },
    bestFace: {
      faceId: track.bestFace.faceId,
      at: track.bestFace.at,
      crop: track.bestFace.cropKey,
      thumbnail: track.bestFace.thumbnailKey,
      quality: track.bestFace.quality,
    },
    emotions: track.emotions,
    faceIds: track.faces.map((f) => f.faceId),
    /** One sampled frame of a face too small or unclear to name: not counted as a person seen (docs/video.md). */
    glimpse: track.glimpse === true,
  };
}

export type TrackView = ReturnType<typeof trackView>;

/** The public shape of a video's summary: who was seen when, and how the faces felt per window. */
export function videoSummaryView(summary: VideoSummary, people: PeopleById) {
  return {
    windowSeconds: summary.windowSeconds,
    people: summary.people.flatMap((seen) => {
      const person = personRef(seen.personId, people);
      return person ? [{ ...person, ...seen }] : [];
    }),
    unknownTracks: summary.unknownTracks,
    emotions: summary.windows,
  };
}

/** The public shape of an enrolled person: who they are and how many photos enrolled them. */
export function personView(person: PersonRecord) {
  return {
    personId: person.personId,
    name: person.name,
    details: person.details,
    enrolledPhotos: person.photos.length,
    createdAt: person.createdAt,
    updatedAt: person.updatedAt,
  };
}

export type PersonView = ReturnType<typeof personView>;

/** The public shape of a job: what it is, how far it got. */
export function jobView(job: JobRecord) {
  return {
    jobId: job.jobId,
    kind: job.kind,
    personId: job.personId ?? null,
    status: job.status,
    total: job.total ?? null,
    examined: job.examined,
    changed: job.changed,
    error: job.error ?? null,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

/** What an erasure removed, with counts first: the keys of records and objects, never their contents. */
export function erasureView(report: ErasureReport) {
  return {
    removed: { records: report.items.length, objects: report.objects.length },
    items: report.items,
    objects: report.objects.map(({ bucket, key }) => ({ bucket, key })),
  };
}
