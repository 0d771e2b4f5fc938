import { SETTINGS_ENV, settingsFromEnv } from '../../../../../lib/adapters/aws/settings';
import { OPTIONS } from '../../../../../lib/options';

const STACK = {
  FACEPIPE_INGEST_BUCKET: 'facepipe-prod-ingest-1',
  FACEPIPE_CROPS_BUCKET: 'facepipe-prod-crops-1',
  FACEPIPE_THUMBNAILS_BUCKET: 'facepipe-prod-thumbnails-1',
  FACEPIPE_TABLE: 'facepipe-prod-results',
};

describe('settingsFromEnv', () => {
  test('reads the stack and falls back to the options’ defaults', () => {
    // Act
    const settings = settingsFromEnv(STACK);

    // Assess
    expect(settings).toEqual({
      buckets: {
        ingest: 'facepipe-prod-ingest-1',
        crops: 'facepipe-prod-crops-1',
        thumbnails: 'facepipe-prod-thumbnails-1',
      },
      table: 'facepipe-prod-results',
      emotionBackend: OPTIONS.emotionBackend.default,
      recognitionBackend: OPTIONS.recognitionBackend.default,
      rekognitionCollection: '',
      rekognitionMatchThreshold: OPTIONS.rekognitionMatchThreshold.default,
      retentionDays: OPTIONS.retentionDays.default,
      maxReceiveCount: OPTIONS.maxReceiveCount.default,
      sightingsTopic: '',
    });
  });

  test('parses every setting it is given', () => {
    // Act
    const settings = settingsFromEnv({
      ...STACK,
      FACEPIPE_EMOTION_BACKEND: 'rekognition',
      FACEPIPE_RECOGNITION_BACKEND: 'rekognition',
      FACEPIPE_REKOGNITION_COLLECTION: 'facepipe-prod-people',
      FACEPIPE_REKOGNITION_MATCH_THRESHOLD: '95.5',
      FACEPIPE_RETENTION_DAYS: '0',
      FACEPIPE_MAX_RECEIVE_COUNT: '5',
      FACEPIPE_SIGHTINGS_TOPIC: 'facepipe-prod-sightings',
    });

    // Assess
    expect(settings).toMatchObject({
      emotionBackend: 'rekognition',
      recognitionBackend: 'rekognition',
      rekognitionCollection: 'facepipe-prod-people',
      rekognitionMatchThreshold: 95.5,
      retentionDays: 0,
      maxReceiveCount: 5,
      sightingsTopic: 'facepipe-prod-sightings',
    });
  });

  test.each([
    ['FACEPIPE_EMOTION_BACKEND', 'aws', 'must be one of onnx, rekognition, got "aws".'],
    ['FACEPIPE_RECOGNITION_BACKEND', 'Rekognition', 'must be one of onnx, rekognition, got "Rekognition".'],
    ['FACEPIPE_REKOGNITION_MATCH_THRESHOLD', '101', 'must be in 0..100, got "101".'],
    ['FACEPIPE_RETENTION_DAYS', '-1', 'must be in 0..36500, got "-1".'],
    ['FACEPIPE_MAX_RECEIVE_COUNT', '2.5', 'must be a whole number in 1..1000, got "2.5".'],
    ['FACEPIPE_MAX_RECEIVE_COUNT', '0', 'must be a whole number in 1..1000, got "0".'],
    ['FACEPIPE_TABLE', 'results\u0007', 'must be text without control characters, got "results\\u0007".'],
  ])('%s=%j is INVALID_OPTION naming the variable and what it allows', (name, value, message) => {
    // Act, Assess
    expect(() => settingsFromEnv({ ...STACK, [name]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', message: `${name} ${message}` }),
    );
  });

  test('a missing stack name, or the collection of the rekognition backend, says serverless.yml sets it', () => {
    // Act, Assess
    expect(() => settingsFromEnv({ ...STACK, FACEPIPE_TABLE: '' })).toThrow(
      'FACEPIPE_TABLE is not set: deploy with serverless.yml, which sets it.',
    );
    expect(() => settingsFromEnv({ ...STACK, FACEPIPE_RECOGNITION_BACKEND: 'rekognition' })).toThrow(
      'FACEPIPE_REKOGNITION_COLLECTION is not set: deploy with serverless.yml, which sets it.',
    );
  });

  test('SETTINGS_ENV names the variables of the definitions', () => {
    // Assess
    expect(Object.values(SETTINGS_ENV)).toEqual(
      Object.keys(SETTINGS_ENV).map((key) => OPTIONS[key as keyof typeof SETTINGS_ENV].env),
    );
    expect(SETTINGS_ENV.maxReceiveCount).toBe('FACEPIPE_MAX_RECEIVE_COUNT');
  });
});
