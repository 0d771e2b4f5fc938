import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MATCH_THRESHOLD } from '../../../lib/config';
import { loadedSessionCount } from '../../../lib/models/sessions';
import { FaceAnalyser } from '../../../lib/vision/analyser';
import { cosineSimilarity } from '../../../lib/vision/analysers/embedder';
import { iou } from '../../../lib/vision/detect/nms';
import { largestFace } from '../../../lib/vision/image/faceGeometry';
import type { Box } from '../../../lib/vision/types';
import { analyzeFile, sharedAnalyser } from '../../helpers/analyser';
import { dataFile, testConfig } from '../../helpers/testConfig';

const upstream = (name: string) => dataFile('robustness', 'upstream', name);

function expectBoxNear(actual: Box, expected: Box, tolerance: number) {
  expect(Math.abs(actual.x - expected.x)).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(actual.y - expected.y)).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(actual.width - expected.width)).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(actual.height - expected.height)).toBeLessThanOrEqual(tolerance);
}

describe('FaceAnalyser on real photos', () => {
  it('finds the one face of the same photo at four resolutions, at the same place', async () => {
    // The 720p face box, measured once by eye-checked run: (581, 59) 166x212.
    const reference: Box = { x: 581, y: 59, width: 166, height: 212 };
    for (const [name, width] of [
      ['face_recognition_obama-240p.jpg', 427],
      ['face_recognition_obama-480p.jpg', 853],
      ['face_recognition_obama-720p.jpg', 1280],
      ['face_recognition_obama-1080p.jpg', 1920],
    ] as const) {
      const result = await analyzeFile(upstream(name));
      expect(result.width).toBe(width);
      expect(result.faces).toHaveLength(1);
      const s = 1280 / width;
      const face = result.faces[0]!;
      const box = { x: face.box.x * s, y: face.box.y * s, width: face.box.width * s, height: face.box.height * s };
      // Within 6 px at 720p scale (3 px at 240p is one detector grid step of the smallest stride).
      expectBoxNear(box, reference, 8);
      const [leftEye, rightEye, nose, leftMouth, rightMouth] = face.landmarks;
      expect(leftEye[0]).toBeLessThan(rightEye[0]);
      expect(nose[1]).toBeGreaterThan(leftEye[1]);
      expect(leftMouth[1]).toBeGreaterThan(nose[1]);
      expect(leftMouth[0]).toBeLessThan(rightMouth[0]);
      expect(face.score).toBeGreaterThan(0.9);
    }
  });

  it('finds an upright face in photos stored rotated with an EXIF orientation', async () => {
    const upright = largestFace((await analyzeFile(upstream('face_recognition_obama-720p.jpg'))).faces)!;
    for (const name of [
      'obama-720p_stored_rot270_exif6.jpg',
      'obama-720p_stored_rot90_exif8.jpg',
      'obama-720p_stored_rot180_exif3.jpg',
    ]) {
      const result = await analyzeFile(dataFile('robustness', 'derived', name));
      expect([result.width, result.height]).toEqual([1280, 720]);
      expect(result.faces).toHaveLength(1);
      expectBoxNear(result.faces[0]!.box, upright.box, 3);
      expect(cosineSimilarity(result.faces[0]!.embedding, upright.embedding)).toBeGreaterThan(0.95);
    }
  });

  it('counts the faces of group photos', async () => {
    expect((await analyzeFile(upstream('face_recognition_two_people.jpg'))).faces).toHaveLength(2);
    expect((await analyzeFile(upstream('deepface_couple.jpg'))).faces).toHaveLength(2);
    const kit = await analyzeFile(
      dataFile('verification', 'face_recognition_knn_examples', 'test', 'kit_with_rose.jpg'),
    );
    expect(kit.faces).toHaveLength(2);
    // Left to right: Rose Leslie, then Kit Harington.
    const [left, right] = [...kit.faces].sort((a, b) => a.box.x - b.box.x);
    expectBoxNear(left!.box, { x: 78, y: 107, width: 77, height: 104 }, 5);
    expectBoxNear(right!.box, { x: 260, y: 81, width: 91, height: 121 }, 5);
  });

  it('finds no face in photos without people, but for one known headlight', async () => {
    const folder = dataFile('detection', 'negatives_no_faces');
    const files = fs.readdirSync(folder).filter((f) => /\.(jpe?g|png|gif|webp)$/i.test(f));
    expect(files.length).toBeGreaterThanOrEqual(26);
    const analyser = await sharedAnalyser();
    const withFaces: string[] = [];
    for (const file of files) {
      const faces = await analyser.detect(fs.readFileSync(path.join(folder, file)));
      if (faces.length > 0) withFaces.push(file);
    }
    // Known and published (reports/eval.md): a motorcycle headlight that both YuNet (0.62) and RetinaFace (0.53) take
    // for a face. The dog faces YuNet fires on (0.85) are vetoed by the second stage; no other image may appear.
    expect(withFaces.length).toBeLessThanOrEqual(1);
    expect(withFaces).not.toContain('dlib_dogs.jpg');
  });

  it('tells the same person from different people at the default threshold', async () => {
    const dir = (name: string) => dataFile('verification', 'face_recognition_test_images', name);
    const embed = async (file: string) => largestFace((await analyzeFile(file)).faces)!.embedding;
    const obama = await embed(dir('obama.jpg'));
    for (const same of ['obama2.jpg', 'obama3.jpg']) {
      expect(cosineSimilarity(obama, await embed(dir(same)))).toBeGreaterThan(DEFAULT_MATCH_THRESHOLD);
    }
    expect(cosineSimilarity(obama, await embed(dir('biden.jpg')))).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
  });

  it('identifies every labelled face of the face_recognition test photos by nearest enrolled face', async () => {
    const root = dataFile('verification', 'face_recognition_knn_examples');
    const gallery: { person: string; embedding: Float32Array }[] = [];
    for (const person of fs.readdirSync(path.join(root, 'train'))) {
      for (const file of fs.readdirSync(path.join(root, 'train', person))) {
        const face = largestFace((await analyzeFile(path.join(root, 'train', person, file))).faces);
        if (face) gallery.push({ person, embedding: face.embedding });
      }
    }
    const identify = (embedding: Float32Array) => {
      const best = gallery
        .map((g) => ({ person: g.person, similarity: cosineSimilarity(g.embedding, embedding) }))
        .sort((a, b) => b.similarity - a.similarity)[0]!;
      return best.similarity >= DEFAULT_MATCH_THRESHOLD ? best.person : 'unknown';
    };
    const people = async (file: string) => {
      const { faces } = await analyzeFile(path.join(root, 'test', file));
      return faces.map((f) => identify(f.embedding));
    };
    expect(await people('obama1.jpg')).toEqual(['obama']);
    expect(await people('alex_lacamoire1.jpg')).toEqual(['alex_lacamoire']);
    expect(await people('johnsnow_test1.jpg')).toEqual(['kit_harington']);
    expect((await people('kit_with_rose.jpg')).sort()).toEqual(['kit_harington', 'rose_leslie']);
    const obamaAndBiden = await people('obama_and_biden.jpg');
    expect(obamaAndBiden).toEqual(expect.arrayContaining(['obama', 'biden']));
  });

  it('reads emotion, age and gender with sensible values', async () => {
    const { faces } = await analyzeFile(upstream('face_recognition_obama_small.jpg'));
    const face = faces[0]!;
    expect(face.emotion.label).toBe('happy');
    expect(face.emotion.confidence).toBeGreaterThan(0.9);
    expect(face.emotion.rekognition[0]?.type).toBe('HAPPY');
    const total = Object.values(face.emotion.scores).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 3);
    expect(face.gender?.label).toBe('male');
    expect(face.age).toBeGreaterThan(35);
    expect(face.age).toBeLessThan(65);
    const astronaut = (await analyzeFile(upstream('skimage_astronaut.png'))).faces[0]!;
    expect(astronaut.gender?.label).toBe('female');
  });

  it('cuts crops and a thumbnail at the configured sizes', async () => {
    const result = await analyzeFile(upstream('deepface_img49_12MP.jpg'), { crops: true, thumbnail: true });
    expect(result.faces).toHaveLength(1);
    const face = result.faces[0]!;
    const crop = await sharp(face.crop!).metadata();
    expect(crop.format).toBe('jpeg');
    expect(Math.max(crop.width, crop.height)).toBe(256);
    // Box plus 25% on every side: the crop keeps the box's aspect ratio (clipped to the image).
    expect(crop.width / crop.height).toBeCloseTo(face.box.width / face.box.height, 1);
    const thumb = await sharp(result.thumbnail!).metadata();
    expect(Math.max(thumb.width, thumb.height)).toBe(320);
    expect(thumb.width / thumb.height).toBeCloseTo(4352 / 2903, 2);
  });

  it('treats the whole image as one face with assumeFace', async () => {
    const file = dataFile('emotion', 'fer2013_test', 'happy');
    const first = fs.readdirSync(file).sort()[0]!;
    const result = await analyzeFile(path.join(file, first), { assumeFace: true });
    expect(result.faces).toHaveLength(1);
    expect(result.faces[0]!.box).toEqual({ x: 0, y: 0, width: 48, height: 48 });
    expect(result.faces[0]!.embedding).toHaveLength(128);
  });

  it('finds at least as many faces in high-recall mode on a crowd photo', async () => {
    // A marching-band photo of the WIDER subset with dozens of small faces.
    const annotations: { file: string; faces: unknown[] }[] = JSON.parse(
      fs.readFileSync(dataFile('detection', 'wider_face_val_subset', 'annotations.json'), 'utf8'),
    );
    const crowd = annotations.reduce((a, b) => (b.faces.length > a.faces.length ? b : a));
    const bytes = fs.readFileSync(dataFile('detection', 'wider_face_val_subset', crowd.file));
    const normal = await (await sharedAnalyser()).detect(bytes);
    const highRecall = await (await sharedAnalyser()).detect(bytes, { highRecall: true });
    expect(highRecall.length).toBeGreaterThan(normal.length);
  });

  it('offers RetinaFace as an alternative detector that agrees with YuNet', async () => {
    const retina = await FaceAnalyser.create(testConfig({ models: { detector: 'retinaface_mnet025' } }));
    const bytes = fs.readFileSync(upstream('face_recognition_obama-720p.jpg'));
    const [retinaFace] = await retina.detect(bytes);
    const [yunetFace] = await (await sharedAnalyser()).detect(bytes);
    expect(iou(retinaFace!.box, yunetFace!.box)).toBeGreaterThan(0.6);
    for (let k = 0; k < 5; k++) {
      expect(
        Math.hypot(
          retinaFace!.landmarks[k]![0] - yunetFace!.landmarks[k]![0],
          retinaFace!.landmarks[k]![1] - yunetFace!.landmarks[k]![1],
        ),
      ).toBeLessThan(8);
    }
  });

  it('loads each model once per process', async () => {
    await sharedAnalyser();
    const before = loadedSessionCount();
    await FaceAnalyser.create(testConfig());
    await analyzeFile(upstream('face_recognition_obama_small.jpg'));
    expect(loadedSessionCount()).toBe(before);
  });
});
