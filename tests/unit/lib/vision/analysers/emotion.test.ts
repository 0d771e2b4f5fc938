import { emotionFromScores } from '../../../../../lib/vision/analysers/emotion';
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
