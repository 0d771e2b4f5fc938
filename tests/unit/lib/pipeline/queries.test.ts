import { handleApiRequest } from '../../../../lib/http';
import type { ResultsStore } from '../../../../lib/pipeline/ports';
import { emotionLabel, timeWindow } from '../../../../lib/pipeline/queries';
import type { StorageContext } from '../../../../lib/pipeline/stages/context';
import { apiRequestFactory as routedRequest } from '../../../helpers/factories';

describe('emotionLabel', () => {
  test.each([
    ['happy', 'happy'],
    ['HAPPY', 'happy'],
    ['Happy', 'happy'],
    ['neutral', 'neutral'],
    ['CALM', 'neutral'],
    ['calm', 'neutral'],
    ['SAD', 'sad'],
    ['ANGRY', 'angry'],
    ['FEAR', 'fearful'],
    ['Fearful', 'fearful'],
    ['DISGUSTED', 'disgusted'],
    ['SURPRISED', 'surprised'],
  ])('takes %j as %j', (given, label) => {
    expect(emotionLabel(given, '--emotion')).toBe(label);
  });

  test('refuses CONFUSED with why, and anything else with both vocabularies', () => {
    expect(() => emotionLabel('confused', '--emotion')).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        message: expect.stringContaining('CONFUSED has no counterpart'),
      }),
    );
    expect(() => emotionLabel('bored\u001b', '--emotion')).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTION',
        message: expect.stringMatching(
          /^--emotion must be one of neutral, .* or Rekognition's CALM, .*"bored\\u001b"\.$/,
        ),
      }),
    );
  });
});

describe('timeWindow', () => {
  test('takes an open or ordered window, and refuses one that ends before it starts, naming the options', () => {
    const names = { since: '--since', until: '--until' };
    expect(timeWindow(undefined, '2026-01-01T00:00:00.000Z', names)).toEqual({ until: '2026-01-01T00:00:00.000Z' });
    expect(timeWindow('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', names)).toMatchObject({
      since: '2026-01-01T00:00:00.000Z',
    });
    expect(() => timeWindow('2026-02-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', names)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: '--since must not be later than --until.' }),
    );
  });
});

describe('GET /faces?emotion=', () => {
  test("reads Rekognition's vocabulary as ours", async () => {
    // Prepare: a results store that only answers the emotion listing.
    const facesWithEmotion = jest.fn<ReturnType<ResultsStore['facesWithEmotion']>, [string]>(async () => []);
    const storage = {
      results: { facesWithEmotion } as unknown as ResultsStore,
      buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
    } as StorageContext;

    // Act
    const answers = [];
    for (const emotion of ['CALM', 'fear', 'Happy']) {
      answers.push(
        await handleApiRequest({ storage, stages: jest.fn() }, routedRequest('GET /faces', { query: { emotion } })),
      );
    }

    // Assess
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(facesWithEmotion.mock.calls.map(([label]) => label)).toEqual(['neutral', 'fearful', 'happy']);
  });
});
