import { DetectFacesCommand, type FaceDetail, RekognitionClient } from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import sharp from 'sharp';
import {
  mainFace,
  RekognitionEmotionBackend,
  readingOfFaceDetail,
} from '../../../../../lib/adapters/rekognition/emotion';
import type { FaceCrop } from '../../../../../lib/vision/analyser';

/** A FaceDetail as DetectFaces documents it with Attributes ['ALL'] (Amazon Rekognition API reference, FaceDetail). */
function faceDetail(emotions: Record<string, number>, box = { Width: 0.62, Height: 0.71, Left: 0.19, Top: 0.14 }) {
  return {
    BoundingBox: box,
    AgeRange: { Low: 26, High: 34 },
    Smile: { Value: true, Confidence: 97.3 },
    Eyeglasses: { Value: false, Confidence: 99.1 },
    Sunglasses: { Value: false, Confidence: 99.9 },
    Gender: { Value: 'Female', Confidence: 99.62 },
    Beard: { Value: false, Confidence: 95.2 },
    Mustache: { Value: false, Confidence: 98.7 },
    EyesOpen: { Value: true, Confidence: 96.4 },
    MouthOpen: { Value: true, Confidence: 88.1 },
    Emotions: Object.entries(emotions).map(([Type, Confidence]) => ({ Type, Confidence })),
    Landmarks: [
      { Type: 'eyeLeft', X: 0.38, Y: 0.41 },
      { Type: 'eyeRight', X: 0.62, Y: 0.4 },
      { Type: 'nose', X: 0.5, Y: 0.53 },
      { Type: 'mouthLeft', X: 0.41, Y: 0.66 },
      { Type: 'mouthRight', X: 0.6, Y: 0.65 },
    ],
    Pose: { Roll: -2.1, Yaw: 4.8, Pitch: 6.3 },
    Quality: { Brightness: 78.4, Sharpness: 92.2 },
    Confidence: 99.99,
    FaceOccluded: { Value: false, Confidence: 99.5 },
    EyeDirection: { Yaw: 1.2, Pitch: -3.4, Confidence: 99.1 },
  } as FaceDetail;
}

const HAPPY_FACE = {
  HAPPY: 96.2,
  SURPRISED: 6.3,
  CALM: 0.9,
  CONFUSED: 0.4,
  FEAR: 0.05,
  SAD: 2.1,
  ANGRY: 0.2,
  DISGUSTED: 0.1,
};

function fakeCrop(width = 40, height = 48): FaceCrop {
  const data = Buffer.alloc(width * height * 3, 128);
  return {
    pixels: { data, width, height },
    region: { x: 0, y: 0, width, height },
    face: {
      box: { x: 5, y: 5, width: 30, height: 38 },
      score: 0.9,
      landmarks: [
        [12, 18],
        [28, 18],
        [20, 26],
        [14, 34],
        [26, 34],
      ],
    },
  };
}

describe('readingOfFaceDetail', () => {
  it('sums Rekognition emotions into our labels, normalises them, and reads age and gender', () => {
    // Act
    const reading = readingOfFaceDetail(faceDetail(HAPPY_FACE));
    // Assess
    const total = 106.25;
    expect(reading.status).toBe('read');
    if (reading.status !== 'read') return;
    expect(reading.emotion.label).toBe('happy');
    expect(reading.emotion.confidence).toBeCloseTo(96.2 / total, 10);
    expect(reading.emotion.scores).toEqual({
      neutral: expect.closeTo((0.9 + 0.4) / total, 10),
      happy: expect.closeTo(96.2 / total, 10),
      sad: expect.closeTo(2.1 / total, 10),
      angry: expect.closeTo(0.2 / total, 10),
      fearful: expect.closeTo(0.05 / total, 10),
      disgusted: expect.closeTo(0.1 / total, 10),
      surprised: expect.closeTo(6.3 / total, 10),
    });
    expect(Object.values(reading.emotion.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(reading.emotion.rekognition).toEqual([
      { type: 'HAPPY', confidence: 96.2 },
      { type: 'SURPRISED', confidence: 6.3 },
      { type: 'SAD', confidence: 2.1 },
      { type: 'CALM', confidence: 0.9 },
      { type: 'CONFUSED', confidence: 0.4 },
      { type: 'ANGRY', confidence: 0.2 },
      { type: 'DISGUSTED', confidence: 0.1 },
      { type: 'FEAR', confidence: 0.05 },
    ]);
    expect(reading.age).toBe(30);
    expect(reading.gender).toEqual({ label: 'female', confidence: expect.closeTo(0.9962, 10) });
  });

  it('counts CONFUSED towards neutral: a mostly confused face is neutral, not its runner-up', () => {
    const reading = readingOfFaceDetail(faceDetail({ CONFUSED: 60, SAD: 30, CALM: 10, UNKNOWN: 50 }));
    expect(reading).toMatchObject({ status: 'read', emotion: { label: 'neutral', confidence: 0.7 } });
    if (reading.status !== 'read') return;
    expect(reading.emotion.scores.sad).toBeCloseTo(0.3, 10);
    // UNKNOWN is not an emotion of our vocabulary (nor of the raw list's type).
    expect(reading.emotion.rekognition.map((e) => e.type)).toEqual(['CONFUSED', 'SAD', 'CALM']);
  });

  it('leaves age and gender out unless both are there, and a face without emotions unread', () => {
    const detail = faceDetail({ ANGRY: 80, CALM: 20 });
    delete detail.Gender;
    const reading = readingOfFaceDetail(detail);
    expect(reading).toMatchObject({ status: 'read', emotion: { label: 'angry' } });
    expect(reading).not.toHaveProperty('age');
    expect(reading).not.toHaveProperty('gender');
    expect(readingOfFaceDetail(faceDetail({}))).toEqual({
      status: 'unread',
      reason: 'Rekognition found the face but read no emotion on it',
    });
  });

  it('takes the largest face of a crop (its margin can show part of a neighbour)', () => {
    const neighbour = faceDetail({ SAD: 99 }, { Width: 0.2, Height: 0.3, Left: 0, Top: 0.1 });
    const own = faceDetail({ HAPPY: 99 }, { Width: 0.55, Height: 0.6, Left: 0.2, Top: 0.2 });
    expect(mainFace([neighbour, own])).toBe(own);
    expect(mainFace([])).toBeUndefined();
  });
});

describe('RekognitionEmotionBackend', () => {
  const client = new RekognitionClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const rekognition = mockClient(client);
  beforeEach(() => rekognition.reset());

  it('sends the stored JPEG crop to DetectFaces with all attributes', async () => {
    // Prepare
    const jpeg = await sharp({ create: { width: 40, height: 48, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    rekognition.on(DetectFacesCommand).resolves({
      FaceDetails: [faceDetail(HAPPY_FACE)],
      OrientationCorrection: 'ROTATE_0',
    });
    // Act
    const reading = await new RekognitionEmotionBackend(client).read(fakeCrop(), jpeg);
    // Assess
    const calls = rekognition.commandCalls(DetectFacesCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ Image: { Bytes: jpeg }, Attributes: ['ALL'] });
    expect(reading).toMatchObject({ status: 'read', emotion: { label: 'happy' }, age: 30 });
  });

  it('re-encodes a WebP crop as JPEG (Rekognition reads only JPEG and PNG)', async () => {
    const webp = await sharp({ create: { width: 40, height: 48, channels: 3, background: '#808080' } })
      .webp()
      .toBuffer();
    rekognition.on(DetectFacesCommand).resolves({ FaceDetails: [faceDetail(HAPPY_FACE)] });
    await new RekognitionEmotionBackend(client).read(fakeCrop(40, 48), webp);
    const sent = rekognition.commandCalls(DetectFacesCommand)[0]?.args[0].input.Image?.Bytes as Uint8Array;
    expect([...sent.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(await sharp(sent).metadata()).toMatchObject({ format: 'jpeg', width: 40, height: 48 });
  });

  it('reads a crop in which Rekognition finds no face as unread, with the reason, instead of failing', async () => {
    rekognition.on(DetectFacesCommand).resolves({ FaceDetails: [] });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
    await expect(new RekognitionEmotionBackend(client).read(fakeCrop(), jpeg)).resolves.toEqual({
      status: 'unread',
      reason: 'Rekognition DetectFaces found no face in the crop',
    });
  });

  it('lets throttling through for the queue to retry', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    rekognition.on(DetectFacesCommand).rejects(throttled);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
    await expect(new RekognitionEmotionBackend(client).read(fakeCrop(), jpeg)).rejects.toThrow('Rate exceeded');
  });
});
