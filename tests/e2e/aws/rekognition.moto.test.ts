import fs from 'node:fs';
import {
  DeleteFacesCommand,
  DetectFacesCommand,
  IndexFacesCommand,
  RekognitionClient,
  SearchFacesByImageCommand,
} from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import { removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import { type AwsPipeline, startAwsPipeline } from '../../../tools/moto/awsPipeline';
import { describeWithMoto } from '../../helpers/describeWithMoto';
import { dataFile } from '../../helpers/testConfig';

/**
 * The deployed functions with the Rekognition backends selected by their environment: S3, SQS, SNS and DynamoDB
 * are moto on loopback; Rekognition, which nothing here can serve, answers with its documented response shapes.
 */
const describeMoto = describeWithMoto('tests/e2e/aws/rekognition.moto.test.ts');

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const COLLECTION = 'facepipe-moto-people';

/** The face IndexFaces indexed at enrolment, as Rekognition describes it there and in SearchFacesByImage's matches. */
const OBAMA_FACE = {
  FaceId: '11111111-2222-3333-4444-555555555555',
  BoundingBox: { Width: 0.6, Height: 0.7, Left: 0.2, Top: 0.15 },
  ImageId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
  ExternalImageId: 'obama',
  Confidence: 99.99,
};

describeMoto('the functions with the Rekognition backends', () => {
  const rekognition = mockClient(RekognitionClient);
  let aws: AwsPipeline;

  beforeAll(async () => {
    process.env.FACEPIPE_EMOTION_BACKEND = 'rekognition';
    process.env.FACEPIPE_RECOGNITION_BACKEND = 'rekognition';
    process.env.FACEPIPE_REKOGNITION_COLLECTION = COLLECTION;
    process.env.FACEPIPE_REKOGNITION_MATCH_THRESHOLD = '85';
    aws = await startAwsPipeline('facepipe-rek', {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 10,
      batchSize: { detect: 1, emotion: 5, recognise: 5 },
      maximumConcurrency: 2,
    });
  });

  afterAll(async () => {
    await aws?.close();
    rekognition.restore();
    for (const name of [
      'FACEPIPE_EMOTION_BACKEND',
      'FACEPIPE_RECOGNITION_BACKEND',
      'FACEPIPE_REKOGNITION_COLLECTION',
      'FACEPIPE_REKOGNITION_MATCH_THRESHOLD',
    ]) {
      delete process.env[name];
    }
  });

  test('enrol indexes the face, the functions read emotion and identity from Rekognition, removal deletes the faces', async () => {
    // Prepare
    rekognition.on(IndexFacesCommand).resolves({
      FaceRecords: [
        {
          Face: OBAMA_FACE,
          FaceDetail: { BoundingBox: { Width: 0.6, Height: 0.7, Left: 0.2, Top: 0.15 }, Confidence: 99.99 },
        },
      ],
      FaceModelVersion: '7.0',
      UnindexedFaces: [],
    });
    rekognition.on(DetectFacesCommand).resolves({
      FaceDetails: [
        {
          BoundingBox: { Width: 0.62, Height: 0.71, Left: 0.19, Top: 0.14 },
          AgeRange: { Low: 45, High: 53 },
          Gender: { Value: 'Male', Confidence: 99.6 },
          Emotions: [
            { Type: 'HAPPY', Confidence: 96.5 },
            { Type: 'CALM', Confidence: 2.1 },
            { Type: 'SURPRISED', Confidence: 0.9 },
          ],
          Confidence: 99.99,
        },
      ],
    });
    rekognition.on(SearchFacesByImageCommand).resolves({
      SearchedFaceBoundingBox: { Width: 0.6, Height: 0.7, Left: 0.2, Top: 0.15 },
      SearchedFaceConfidence: 99.9,
      FaceMatches: [
        {
          Similarity: 98.7,
          Face: OBAMA_FACE,
        },
      ],
      FaceModelVersion: '7.0',
    });
    rekognition.on(DeleteFacesCommand).resolves({ DeletedFaces: ['11111111-2222-3333-4444-555555555555'] });
    await enrolPerson(aws.context, {
      personId: 'obama',
      name: 'Barack Obama',
      photos: [{ name: 'obama.jpg', bytes: fs.readFileSync(knn('train', 'obama', 'obama.jpg')) }],
    });
    const key = 'rek/obama 1.jpg';

    // Act
    await aws.put(key, fs.readFileSync(knn('test', 'obama1.jpg')));
    await aws.drain();

    // Assess: the stages asked Rekognition about exactly the stored crop, in the configured collection.
    const { results, buckets } = aws.context;
    const [face] = await results.facesOfImage(imageIdOf(buckets.ingest, key));
    expect(face?.emotion).toMatchObject({ label: 'happy' });
    expect(face?.age).toBe(49);
    // The face names its person by id; the name lives on the person's record.
    expect(face?.identity).toEqual({ personId: 'obama', similarity: 0.987 });
    expect(face?.embedding).toBeUndefined();
    const search = rekognition.commandCalls(SearchFacesByImageCommand);
    expect(search).toHaveLength(1);
    expect(search[0]?.args[0].input).toMatchObject({ CollectionId: COLLECTION, FaceMatchThreshold: 85 });
    const crop = await aws.context.store.get(buckets.crops, face?.crop.key as string);
    expect(Buffer.from(search[0]?.args[0].input.Image?.Bytes as Uint8Array).equals(crop?.body as Buffer)).toBe(true);
    expect(rekognition.commandCalls(DetectFacesCommand)).toHaveLength(1);

    // Removing the person deletes their indexed faces from the collection.
    await removePerson(aws.context, 'obama');
    expect(rekognition.commandCalls(DeleteFacesCommand)[0]?.args[0].input).toEqual({
      CollectionId: COLLECTION,
      FaceIds: ['11111111-2222-3333-4444-555555555555'],
    });
    expect(await results.getPerson('obama')).toBeUndefined();
  });
});
