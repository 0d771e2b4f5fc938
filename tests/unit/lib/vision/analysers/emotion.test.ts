import { modelEntry } from '../../../../../lib/models/manifest';
import { emotionFromScores, emotionInputShape } from '../../../../../lib/vision/analysers/emotion';
import { REKOGNITION_EMOTIONS } from '../../../../../lib/vision/types';

describe('emotionFromScores', () => {
  it('picks the top label and reports every Rekognition type once, in percent, highest first', () => {
    // neutral, happy, sad, angry, fearful, disgusted, surprised
    const result = emotionFromScores([0.1, 0.05, 0.6, 0.05, 0.1, 0.05, 0.05]);
    expect(result.label).toBe('sad');
    expect(result.confidence).toBeCloseTo(0.6);
    expect(result.rekognition[0]).toEqual({ type: 'SAD', confidence: expect.closeTo(60, 5) });
    expect(result.rekognition.map((e) => e.type).sort()).toEqual([...REKOGNITION_EMOTIONS].sort());
    expect(result.rekognition.find((e) => e.type === 'CALM')?.confidence).toBeCloseTo(10);
    expect(result.rekognition.find((e) => e.type === 'CONFUSED')?.confidence).toBe(0);
  });
});

describe('emotionInputShape', () => {
  it("reads each emotion model's face input from the manifest", () => {
    expect(emotionInputShape({ entry: modelEntry('facepipe_emotion_fer') })).toEqual({
      size: 48,
      channels: 'rgb',
      framing: 'box-square',
      scale: 1,
    });
    expect(emotionInputShape({ entry: modelEntry('oarriaga_big_xception') })).toMatchObject({
      size: 64,
      channels: 'grey',
    });
    expect(emotionInputShape({ entry: modelEntry('faceapi_expression') })).toMatchObject({ framing: 'padded-square' });
  });

  it('refuses a model whose entry names no face input, or labels in another order', () => {
    const entry = modelEntry('facepipe_emotion_fer');
    const { faceInput: _, ...withoutInput } = entry;
    expect(() => emotionInputShape({ entry: withoutInput })).toThrow(/needs a faceInput/);
    const reordered = { ...entry, labels: [...entry.labels!].reverse() };
    expect(() => emotionInputShape({ entry: reordered })).toThrow(/MODEL_UNKNOWN|not an emotion model/);
  });
});
