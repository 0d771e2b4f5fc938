import {
  CreateCollectionCommand,
  DeleteFacesCommand,
  IndexFacesCommand,
  InvalidParameterException,
  ProvisionedThroughputExceededException,
  RekognitionClient,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  SearchFacesByImageCommand,
} from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ensureCollection,
  matchesOfSearch,
  matchSimilarities,
  RekognitionRecognitionBackend,
  rekognitionBackends,
} from '../../../../../lib/adapters/rekognition';
import { FacepipeError } from '../../../../../lib/errors';
import { assignBySimilarity, type EnrolledPerson } from '../../../../../lib/pipeline/recognition';
import type { FaceRecord, PersonRecord } from '../../../../../lib/pipeline/records';
import type { FaceCrop } from '../../../../../lib/vision/analyser';

const COLLECTION = 'facepipe-dev-people';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
const metadata = { httpStatusCode: 400, requestId: 'req-1' };

const client = new RekognitionClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const rekognition = mockClient(client);
beforeEach(() => rekognition.reset());

const backend = () => new RekognitionRecognitionBackend({ client, collectionId: COLLECTION, matchThreshold: 85 });

const crop = {
  pixels: { data: Buffer.alloc(3), width: 1, height: 1 },
  region: { x: 0, y: 0, width: 1, height: 1 },
} as FaceCrop;

/** A FaceMatch as SearchFacesByImage documents it. */
const faceMatch = (faceId: string, similarity: number, externalImageId: string) => ({
  Similarity: similarity,
  Face: {
    FaceId: faceId,
    BoundingBox: { Width: 0.42, Height: 0.56, Left: 0.29, Top: 0.18 },
    ImageId: `img-${faceId}`,
    ExternalImageId: externalImageId,
    Confidence: 99.99,
    IndexFacesModelVersion: '7.0',
  },
});

const person = (personId: string, ...faceIds: string[]): EnrolledPerson => ({
  personId,
  name: personId.toUpperCase(),
  details: {},
  embeddings: [],
  rekognitionFaces: faceIds.map((faceId) => ({ collectionId: COLLECTION, faceId })),
});

describe('recognition by a Rekognition collection', () => {
  it('searches the crop in the collection with the threshold and keeps FaceIds and similarities', async () => {
    // Prepare
    rekognition.on(SearchFacesByImageCommand).resolves({
      SearchedFaceBoundingBox: { Width: 0.5, Height: 0.6, Left: 0.25, Top: 0.2 },
      SearchedFaceConfidence: 99.98,
      FaceMatches: [faceMatch('f-ann-2', 91.25, 'ann'), faceMatch('f-ann-1', 99.5, 'ann')],
      FaceModelVersion: '7.0',
    });
    // Act
    const description = await backend().describe(crop, JPEG);
    // Assess
    const calls = rekognition.commandCalls(SearchFacesByImageCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { CollectionId: COLLECTION, Image: { Bytes: JPEG }, FaceMatchThreshold: 85, MaxFaces: 10 },
    ]);
    expect(description).toEqual({
      kind: 'matches',
      matches: [
        { faceId: 'f-ann-1', similarity: 0.995 },
        { faceId: 'f-ann-2', similarity: 0.9125 },
      ],
    });
  });

  it('takes "no face in the image" (InvalidParameterException) as no matches, not as an error', async () => {
    rekognition.on(SearchFacesByImageCommand).rejects(
      new InvalidParameterException({
        message: 'There are no faces in the image. Should be at least 1.',
        $metadata: metadata,
      }),
    );
    await expect(backend().describe(crop, JPEG)).resolves.toEqual({ kind: 'matches', matches: [] });
  });

  it('names a missing collection plainly and lets throttling through for the queue to retry', async () => {
    rekognition
      .on(SearchFacesByImageCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: 'The collection id: x does not exist', $metadata: metadata }),
      )
      .rejectsOnce(
        new ProvisionedThroughputExceededException({ message: 'Provisioned rate exceeded', $metadata: metadata }),
      );
    const missing = await backend()
      .describe(crop, JPEG)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FacepipeError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    expect((missing as Error).message).toContain(`Rekognition collection "${COLLECTION}" does not exist`);
    await expect(backend().describe(crop, JPEG)).rejects.toThrow(ProvisionedThroughputExceededException);
  });

  it("builds the similarity matrix from the matches of people's recorded faces only", () => {
    const people = [person('ann', 'f-ann-1', 'f-ann-2'), person('bob', 'f-bob-1')];
    const elsewhere: EnrolledPerson = {
      ...person('cy'),
      rekognitionFaces: [{ collectionId: 'another', faceId: 'f-cy-1' }],
    };
    const matrix = matchSimilarities(
      [
        [
          { faceId: 'f-ann-2', similarity: 0.93 },
          { faceId: 'f-ann-1', similarity: 0.97 },
          { faceId: 'f-gone', similarity: 0.999 },
        ],
        [{ faceId: 'f-cy-1', similarity: 0.99 }],
      ],
      [...people, elsewhere],
      COLLECTION,
    );
    expect(matrix).toEqual([
      [0.97, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ]);
  });

  it('gives a person matched by two faces of a photo to the better one; the other is unknown with its similarity', () => {
    const people = [person('ann', 'f-ann-1')];
    const faces = [
      { rekognitionMatches: [{ faceId: 'f-ann-1', similarity: 0.91 }] },
      { rekognitionMatches: [{ faceId: 'f-ann-1', similarity: 0.98 }] },
      { rekognitionMatches: [] },
    ] as unknown as FaceRecord[];
    const b = backend();
    // Rekognition's threshold is its own whatever the gallery's size.
    expect([b.ruleFor(1), b.ruleFor(500)]).toEqual([
      { threshold: 0.85, margin: 0 },
      { threshold: 0.85, margin: 0 },
    ]);
    expect(faces.map((f) => b.described(f))).toEqual([true, true, true]);
    expect(b.described({} as FaceRecord)).toBe(false);
    expect(assignBySimilarity(b.similarities(faces, people), people, b.ruleFor(people.length), b.noMatch)).toEqual([
      { personId: null, similarity: 0.91 },
      { personId: 'ann', similarity: 0.98 },
      { personId: null, similarity: 0 },
    ]);
  });

  it('maps a search response without matches to none', () => {
    expect(matchesOfSearch({ FaceMatches: [] })).toEqual([]);
    expect(matchesOfSearch({})).toEqual([]);
  });
});

describe('enrolment and removal in a Rekognition collection', () => {
  const enrolmentFace = (photo: string) => ({ photo, crop, bytes: JPEG });

  it('indexes each enrolment crop (one face, the person id as ExternalImageId) and returns the FaceIds', async () => {
    // Prepare
    let n = 0;
    rekognition.on(IndexFacesCommand).callsFake((input) => ({
      FaceRecords: [
        {
          Face: {
            FaceId: `f-${++n}`,
            BoundingBox: { Width: 0.5, Height: 0.6, Left: 0.25, Top: 0.2 },
            ImageId: `i-${n}`,
            ExternalImageId: input.ExternalImageId,
            Confidence: 99.99,
            IndexFacesModelVersion: '7.0',
          },
          FaceDetail: { BoundingBox: { Width: 0.5, Height: 0.6, Left: 0.25, Top: 0.2 }, Confidence: 99.99 },
        },
      ],
      FaceModelVersion: '7.0',
      UnindexedFaces: [],
    }));
    // Act
    const added = await backend().enrol('ann', [enrolmentFace('a.jpg'), enrolmentFace('b.jpg')]);
    // Assess
    const expected = {
      CollectionId: COLLECTION,
      Image: { Bytes: JPEG },
      ExternalImageId: 'ann',
      MaxFaces: 1,
      QualityFilter: 'AUTO',
    };
    expect(rekognition.commandCalls(IndexFacesCommand).map((c) => c.args[0].input)).toEqual([expected, expected]);
    expect(added).toEqual({
      embeddings: [],
      rekognitionFaces: [
        { collectionId: COLLECTION, faceId: 'f-1' },
        { collectionId: COLLECTION, faceId: 'f-2' },
      ],
    });
    expect(rekognition.commandCalls(DeleteFacesCommand)).toHaveLength(0);
  });

  it('fails an enrolment whose face Rekognition will not index, and deletes the faces it indexed before', async () => {
    rekognition
      .on(IndexFacesCommand)
      .resolvesOnce({ FaceRecords: [{ Face: { FaceId: 'f-1', ExternalImageId: 'ann' } }], UnindexedFaces: [] })
      .resolvesOnce({
        FaceRecords: [],
        UnindexedFaces: [
          { Reasons: ['LOW_SHARPNESS', 'LOW_BRIGHTNESS'], FaceDetail: { Confidence: 98.1 } },
          { Reasons: ['EXCEEDS_MAX_FACES'], FaceDetail: { Confidence: 97.4 } },
        ],
      });
    rekognition.on(DeleteFacesCommand).resolves({ DeletedFaces: ['f-1'], UnsuccessfulFaceDeletions: [] });
    const failure = await backend()
      .enrol('ann', [enrolmentFace('a.jpg'), enrolmentFace('blurred.jpg')])
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({
      code: 'ENROLMENT_PHOTO',
      message:
        'Enrolment photo blurred.jpg: Rekognition would not index its face (LOW_SHARPNESS, LOW_BRIGHTNESS, ' +
        'EXCEEDS_MAX_FACES); use a sharper, brighter, frontal photo.',
    });
    expect(rekognition.commandCalls(DeleteFacesCommand).map((c) => c.args[0].input)).toEqual([
      { CollectionId: COLLECTION, FaceIds: ['f-1'] },
    ]);
  });

  it('deletes every recorded face of a person, per collection, tolerating faces already gone', async () => {
    rekognition
      .on(DeleteFacesCommand, { CollectionId: COLLECTION })
      .resolves({
        DeletedFaces: ['f-1'],
        UnsuccessfulFaceDeletions: [{ FaceId: 'f-2', Reasons: ['FACE_NOT_FOUND'] }],
      })
      .on(DeleteFacesCommand, { CollectionId: 'old-people' })
      .rejects(
        new ResourceNotFoundException({ message: 'The collection id: old-people does not exist', $metadata: metadata }),
      );
    const record = {
      personId: 'ann',
      rekognitionFaces: [
        { collectionId: COLLECTION, faceId: 'f-1' },
        { collectionId: 'old-people', faceId: 'f-0' },
        { collectionId: COLLECTION, faceId: 'f-2' },
      ],
    } as PersonRecord;
    await expect(backend().forget(record)).resolves.toEqual([
      'rekognition face f-1',
      'rekognition face f-2',
      'rekognition face f-0',
    ]);
    expect(rekognition.commandCalls(DeleteFacesCommand).map((c) => c.args[0].input)).toEqual([
      { CollectionId: COLLECTION, FaceIds: ['f-1', 'f-2'] },
      { CollectionId: 'old-people', FaceIds: ['f-0'] },
    ]);
  });

  it('fails the removal when Rekognition refuses to delete a face, so the person keeps the FaceIds to retry', async () => {
    rekognition.on(DeleteFacesCommand).resolves({
      DeletedFaces: [],
      UnsuccessfulFaceDeletions: [{ FaceId: 'f-1', UserId: 'u-1', Reasons: ['ASSOCIATED_TO_AN_EXISTING_USER'] }],
    });
    const record = { personId: 'ann', rekognitionFaces: [{ collectionId: COLLECTION, faceId: 'f-1' }] } as PersonRecord;
    await expect(backend().forget(record)).rejects.toThrow(
      `Rekognition did not delete 1 faces from collection ${COLLECTION}: f-1: ASSOCIATED_TO_AN_EXISTING_USER`,
    );
  });
});

describe('ensureCollection and rekognitionBackends', () => {
  it('creates the collection once and accepts one that exists', async () => {
    rekognition
      .on(CreateCollectionCommand)
      .resolvesOnce({
        StatusCode: 200,
        CollectionArn: `aws:rekognition:eu-west-1:123456789012:collection/${COLLECTION}`,
      })
      .rejectsOnce(
        new ResourceAlreadyExistsException({
          message: `The collection id: ${COLLECTION} already exists`,
          $metadata: metadata,
        }),
      );
    await expect(ensureCollection(client, COLLECTION)).resolves.toEqual({ created: true });
    await expect(ensureCollection(client, COLLECTION)).resolves.toEqual({ created: false });
    expect(rekognition.commandCalls(CreateCollectionCommand).map((c) => c.args[0].input)).toEqual([
      { CollectionId: COLLECTION },
      { CollectionId: COLLECTION },
    ]);
  });

  it('gives only the parts that are on (the rest stay ONNX) and checks the options', () => {
    const options = { client, collectionId: COLLECTION, matchThreshold: 90 };
    const both = rekognitionBackends({ ...options, emotion: true, recognition: true });
    expect([both.emotion?.name, both.recognition?.name, both.recognition?.ruleFor(1).threshold]).toEqual([
      'rekognition',
      'rekognition',
      0.9,
    ]);
    expect(rekognitionBackends({ ...options, emotion: true, recognition: false })).toEqual({
      emotion: expect.objectContaining({ name: 'rekognition' }),
    });
    expect(rekognitionBackends({ ...options, emotion: false, recognition: false })).toEqual({});
    expect(() =>
      rekognitionBackends({ ...options, collectionId: 'my people', emotion: false, recognition: true }),
    ).toThrow('Rekognition collection id "my people" is not valid');
    expect(() => rekognitionBackends({ ...options, matchThreshold: 101, emotion: false, recognition: true })).toThrow(
      'Rekognition match threshold must be from 0 to 100, got 101.',
    );
  });
});
