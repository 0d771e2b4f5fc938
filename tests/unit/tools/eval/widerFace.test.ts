import type { Box } from '../../../../lib/vision/types';
import type { ScoredBox } from '../../../../tools/eval/types';
import {
  loadWiderFaceAnnotations,
  parseWiderFaceAnnotations,
  scoreWiderFacePredictions,
  vocAp,
  type WiderFaceImage,
  widerIou,
} from '../../../../tools/eval/widerFace';
import { detectionData } from '../../../helpers/evalData';

const box = (x: number, y: number, size = 20): Box => ({ x, y, width: size, height: size });
const at = (face: Box, score: number, dx = 0): ScoredBox => ({ ...face, x: face.x + dx, score });

/** One image whose faces count in every setting unless `keep` says otherwise. */
function image(faces: Box[], keep: Partial<WiderFaceImage['keep']> = {}): WiderFaceImage {
  const all = faces.map((_, index) => index);
  return { file: 'a.jpg', width: 200, height: 200, faces, keep: { easy: all, medium: all, hard: all, ...keep } };
}

const score = (images: WiderFaceImage[], predictions: ScoredBox[]) =>
  scoreWiderFacePredictions(images, new Map([['a.jpg', predictions]]));

describe('WIDER FACE protocol', () => {
  const [a, b, c, d] = [box(0, 0), box(50, 0), box(100, 0), box(150, 0)] as [Box, Box, Box, Box];

  it('gives AP 1 to perfect predictions', () => {
    const result = score([image([a, b])], [at(a, 0.9), at(b, 0.8)]);
    expect(result.settings.easy.ap).toBeCloseTo(1, 10);
    expect(result.settings.hard).toMatchObject({ faces: 2, found: 2 });
  });

  it('gives AP 0.5 when half the faces are found without a false positive', () => {
    const result = score([image([a, b, c, d])], [at(a, 0.9), at(b, 0.5)]);
    expect(result.settings.medium.ap).toBeCloseTo(0.5, 10);
    expect(result.settings.medium.found).toBe(2);
  });

  it('counts a prediction on a face outside the keep list neither way', () => {
    // b is a hard-only face: in easy, the best-scored prediction lands on a don't-care face.
    const result = score([image([a, b], { easy: [0], medium: [0] })], [at(b, 0.9), at(a, 0.5)]);
    expect(result.settings.easy).toMatchObject({ faces: 1, found: 1 });
    expect(result.settings.easy.ap).toBeCloseTo(1, 10); // 0.5 if it were a false positive
    expect(result.settings.hard.ap).toBeCloseTo(1, 10);
  });

  it('counts a second prediction on an already found face as a false positive', () => {
    // TP (recall 1/2, precision 1), duplicate (1/2, 1/2), TP (1, 2/3): AP = 0.5 * 1 + 0.5 * 2/3.
    const result = score([image([a, b])], [at(a, 0.9), at(a, 0.7, 2), at(b, 0.5)]);
    expect(result.settings.easy.ap).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(result.settings.easy.precision.at(-1)).toBeCloseTo(2 / 3, 10);
  });

  it('counts a prediction on no face as a false positive', () => {
    // FP first (recall 0), then TP at precision 1/2: AP = 1 * 1/2.
    const result = score([image([a])], [at(box(100, 100), 0.9), at(a, 0.5)]);
    expect(result.settings.easy.ap).toBeCloseTo(0.5, 10);
  });

  it('normalises scores over the whole set, so only the ranking matters', () => {
    const raw = score([image([a, b])], [at(a, 90), at(box(100, 100), 70), at(b, 50)]);
    const scaled = score([image([a, b])], [at(a, 0.09), at(box(100, 100), 0.07), at(b, 0.05)]);
    expect(raw.settings.easy.ap).toBeCloseTo(scaled.settings.easy.ap, 10);
    expect(raw.scoreRange).toEqual({ min: 1, max: 90 }); // official seeding: min starts at 1, max at 0
  });

  it('measures IoU on inclusive pixel corners, as the official bbox_overlaps', () => {
    expect(widerIou({ x: 0, y: 0, width: 9, height: 9 }, { x: 5, y: 0, width: 9, height: 9 })).toBeCloseTo(50 / 150);
    expect(widerIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 0, y: 0, width: 2, height: 2 })).toBe(1);
    expect(widerIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 10, y: 10, width: 2, height: 2 })).toBe(0);
  });

  it('interpolates AP over every recall step', () => {
    expect(vocAp([0.5, 0.5, 1], [1, 0.5, 2 / 3])).toBeCloseTo(0.5 + 1 / 3, 10);
    expect(vocAp([0, 0], [0, 0])).toBe(0);
  });

  it('refuses predictions for an image the annotations do not list', () => {
    expect(() => scoreWiderFacePredictions([image([a])], new Map([['elsewhere.jpg', [at(a, 1)]]]))).toThrow(
      /elsewhere\.jpg/,
    );
  });

  it('refuses annotations whose keep list points past the faces', () => {
    const entry = { file: 'a.jpg', width: 1, height: 1, faces: [{ x: 0, y: 0, w: 1, h: 1 }] };
    expect(() =>
      parseWiderFaceAnnotations([{ ...entry, easy_face_idx: [1], medium_face_idx: [], hard_face_idx: [] }]),
    ).toThrow(/easy_face_idx/);
    expect(() => parseWiderFaceAnnotations({ images: [] })).toThrow(/array/);
  });
});

describe('WIDER FACE subset annotations', () => {
  it('score AP 1 on easy and medium when the ground truth is fed back as predictions', async () => {
    const images = await loadWiderFaceAnnotations(detectionData('wider_face_val_subset'));
    const predictions = new Map(
      images.map((entry) => [entry.file, entry.faces.map((face, index) => ({ ...face, score: 1 - index / 1000 }))]),
    );

    const result = scoreWiderFacePredictions(images, predictions);

    expect(result.images).toBe(213);
    expect(result.settings.easy.ap).toBeCloseTo(1, 10);
    expect(result.settings.medium.ap).toBeCloseTo(1, 10);
    expect(result.settings.easy.faces).toBe(508);
    expect(result.settings.medium.faces).toBe(897);
    expect(result.settings.hard.faces).toBe(2397);
  });
});
