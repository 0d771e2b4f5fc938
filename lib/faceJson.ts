import type { FaceAnalysis } from './vision/analyser';
import type { Box, Emotion, GenderResult, Point } from './vision/types';

/** The public JSON shape of one face (CLI `--json`, API responses): rounded, no buffers. */
export interface FaceJson {
  box: Box;
  score: number;
  landmarks: Point[];
  emotion: {
    label: Emotion;
    confidence: number;
    scores: Record<Emotion, number>;
    rekognition: { type: string; confidence: number }[];
  };
  age?: number;
  gender?: GenderResult;
  embedding?: number[];
}

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export function faceToJson(face: FaceAnalysis, options: { embedding?: boolean } = {}): FaceJson {
  const json: FaceJson = {
    box: {
      x: round(face.box.x, 1),
      y: round(face.box.y, 1),
      width: round(face.box.width, 1),
      height: round(face.box.height, 1),
    },
    score: round(face.score, 4),
    landmarks: face.landmarks.map(([x, y]) => [round(x, 1), round(y, 1)] as Point),
    emotion: {
      label: face.emotion.label,
      confidence: round(face.emotion.confidence, 4),
      scores: Object.fromEntries(Object.entries(face.emotion.scores).map(([k, v]) => [k, round(v, 4)])) as Record<
        Emotion,
        number
      >,
      rekognition: face.emotion.rekognition.map((e) => ({ type: e.type, confidence: round(e.confidence, 2) })),
    },
  };
  if (face.age !== undefined) json.age = round(face.age, 1);
  if (face.gender) json.gender = { label: face.gender.label, confidence: round(face.gender.confidence, 4) };
  if (options.embedding) json.embedding = Array.from(face.embedding, (v) => round(v, 6));
  return json;
}

export function largestFace<T extends { box: Box }>(faces: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const face of faces) {
    if (!best || face.box.width * face.box.height > best.box.width * best.box.height) best = face;
  }
  return best;
}
