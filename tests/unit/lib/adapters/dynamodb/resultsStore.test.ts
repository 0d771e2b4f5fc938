import fs from 'node:fs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoResultsStore } from '../../../../../lib/adapters/dynamodb/resultsStore';
import { KEY, tableDefinition } from '../../../../../lib/adapters/dynamodb/schema';
import { TableFaceIndex } from '../../../../../lib/adapters/dynamodb/tableFaceIndex';
import { type LocalTable, openLocalTable } from '../../../../../lib/adapters/local/storeAccess';
import { imageIdOf } from '../../../../../lib/pipeline/ids';
import type { FaceRecord } from '../../../../../lib/pipeline/records';
import { faceRecordFactory, imageRecordFactory, personRecordFactory } from '../../../../helpers/factories';
import { openPipeline, tempDataDir } from '../../../../helpers/localPipeline';
import { dataFile } from '../../../../helpers/testConfig';

/** The detect stage's part of a face record: what a repeated detection of the same version writes again. */
function detected(face: FaceRecord): FaceRecord {
  const { emotion, age, gender, identity, embedding, ...geometry } = face;
  return geometry as FaceRecord;
}

describe('the results table', () => {
  it('keeps the analysis of a face when its version is detected again, and replaces it when asked to re-analyse', async () => {
    // Prepare: a real photo through every stage.
    const pipeline = await openPipeline(tempDataDir('table'));
    try {
      const key = 'kit_with_rose.jpg';
      await pipeline.upload(
        key,
        fs.readFileSync(dataFile('verification', 'face_recognition_knn_examples', 'test', key)),
      );
      await pipeline.drained();
      const imageId = imageIdOf(pipeline.buckets.ingest, key);
      const analysed = await pipeline.results.facesOfImage(imageId);
      expect(analysed).toHaveLength(2);
      for (const face of analysed)
        expect([face.emotion?.label, face.identity, face.embedding?.length]).not.toContain(undefined);

      // Act: a late duplicate of the same version writes its face records again.
      await pipeline.results.putFaces(analysed.map(detected), { keepAnalysed: true });
      const kept = await pipeline.results.facesOfImage(imageId);
      // A re-analysis (facepipe run --force) replaces them.
      await pipeline.results.putFaces(analysed.map(detected));
      const replaced = await pipeline.results.facesOfImage(imageId);

      // Assess
      expect(kept).toEqual(analysed);
      expect(replaced).toEqual(analysed.map(detected));
      // A face whose crop changed (another version) is written even with keepAnalysed.
      const moved = {
        ...detected(analysed[0] as FaceRecord),
        crop: { ...(analysed[0] as FaceRecord).crop, key: 'other' },
      };
      await pipeline.results.putFaces([moved], { keepAnalysed: true });
      expect(await pipeline.results.getFace(imageId, 0)).toEqual(moved);
    } finally {
      await pipeline.close();
    }
  });
});

describe('the results table with a retention', () => {
  const TABLE = 'facepipe-retention';
  let dataDir: string;
  let dynamo: LocalTable;

  beforeAll(async () => {
    dataDir = tempDataDir('retention');
    dynamo = await openLocalTable(dataDir, tableDefinition(TABLE));
  });
  afterAll(async () => {
    await dynamo?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const item = async (key: Record<string, string>) =>
    (await dynamo.client.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item;

  it('puts expiresAt (epoch seconds) on image and face items, createdAt/detectedAt + retentionDays, and none on people', async () => {
    // Prepare
    const table = new DynamoResultsStore(dynamo.client, TABLE, { retentionDays: 30 });
    const image = imageRecordFactory({ imageId: 'a00000000000000000000001', createdAt: '2026-11-21T10:00:00.000Z' });
    // Faces expire from their own detection time; a fraction of a second is dropped.
    const faces = [0, 1].map((index) =>
      faceRecordFactory({ imageId: image.imageId, index, detectedAt: '2026-11-21T10:00:05.250Z' }),
    );
    const redetected = faceRecordFactory({ imageId: image.imageId, index: 2, detectedAt: '2026-11-22T10:00:00.000Z' });

    // Act
    await table.putImage(image);
    await table.putFaces(faces);
    await table.putFaces([redetected], { keepAnalysed: true });
    await table.putPerson(personRecordFactory({ personId: 'retention-person' }), undefined);

    // Assess
    const thirtyDays = 30 * 86_400;
    expect((await item(KEY.image(image.imageId)))?.expiresAt).toBe(1_795_255_200 + thirtyDays);
    expect((await item(KEY.face(image.imageId, 0)))?.expiresAt).toBe(1_795_255_205 + thirtyDays);
    expect((await item(KEY.face(image.imageId, 1)))?.expiresAt).toBe(1_795_255_205 + thirtyDays);
    expect((await item(KEY.face(image.imageId, 2)))?.expiresAt).toBe(1_795_341_600 + thirtyDays);
    const person = await item(KEY.person('retention-person'));
    expect(person).toMatchObject({ name: 'Barack Obama' });
    expect(person).not.toHaveProperty('expiresAt');
    // What the table hands back is the record, not its TTL attribute.
    await expect(table.getImage(image.imageId)).resolves.toEqual(image);
  });

  it("puts the face's expiry on what is derived from it: cluster member, rejection, vector item; a cluster's from its last change", async () => {
    // Prepare
    const table = new DynamoResultsStore(dynamo.client, TABLE, { retentionDays: 30 });
    const addedAt = Date.parse('2026-11-21T10:00:09.900Z');
    const index = new TableFaceIndex(dynamo.client, TABLE, { retentionDays: 30, now: () => addedAt });
    const face = faceRecordFactory({ imageId: 'c00000000000000000000001', detectedAt: '2026-11-21T10:00:05.250Z' });
    const embedding = Float32Array.from({ length: 128 }, (_, i) => (i % 7) / 7);
    const cluster = {
      clusterId: 'c0123456789abcde',
      revision: 'r1',
      sum: embedding,
      size: 1,
      createdAt: '2026-11-21T10:00:08.000Z',
      updatedAt: '2026-11-21T10:00:08.000Z',
      aliases: [],
    };

    // Act
    await table.putFaces([face]);
    await table.putCluster(cluster, undefined);
    await table.addClusterMember({
      clusterId: cluster.clusterId,
      faceId: face.faceId,
      imageId: face.imageId,
      index: 0,
      detectedAt: face.detectedAt,
      embedding,
    });
    await table.addRejection(face, { personId: 'retention-person' });
    await index.add(face.faceId, embedding);

    // Assess
    const thirtyDays = 30 * 86_400;
    const faceExpiry = 1_795_255_205 + thirtyDays;
    expect((await item(KEY.clusterMember(cluster.clusterId, face.detectedAt, face.faceId)))?.expiresAt).toBe(
      faceExpiry,
    );
    expect((await item(KEY.rejection('retention-person', face.faceId)))?.expiresAt).toBe(faceExpiry);
    expect((await item(KEY.cluster(cluster.clusterId)))?.expiresAt).toBe(1_795_255_208 + thirtyDays);
    expect((await item(KEY.vector(face.faceId)))?.expiresAt).toBe(1_795_255_209 + thirtyDays);
    // Read back, they are records without their TTL attribute.
    expect(await table.getCluster(cluster.clusterId)).not.toHaveProperty('expiresAt');
    expect((await table.clusterMembers(cluster.clusterId))[0]).not.toHaveProperty('expiresAt');
  });

  it.each([
    ['retentionDays 0', { retentionDays: 0 }],
    ['no retention given', {}],
  ])('puts no expiresAt on any item with %s', async (_name, options) => {
    // Prepare
    const table = new DynamoResultsStore(dynamo.client, TABLE, options);
    const image = imageRecordFactory({ imageId: `b0000000000000000000000${Object.keys(options).length}` });

    // Act
    await table.putImage(image);
    await table.putFaces([faceRecordFactory({ imageId: image.imageId })]);
    await table.putFaces([faceRecordFactory({ imageId: image.imageId, index: 1 })], { keepAnalysed: true });
    await table.putPerson(personRecordFactory({ personId: `kept-${Object.keys(options).length}` }), undefined);
    const face = faceRecordFactory({ imageId: image.imageId });
    const member = {
      clusterId: `ckept${Object.keys(options).length}`,
      faceId: face.faceId,
      imageId: face.imageId,
      index: 0,
      detectedAt: face.detectedAt,
      embedding: Float32Array.from({ length: 128 }, (_, i) => (i % 5) / 5),
    };
    await table.addClusterMember(member);
    await new TableFaceIndex(dynamo.client, TABLE, options).add(face.faceId, member.embedding);

    // Assess
    for (const key of [
      KEY.clusterMember(member.clusterId, member.detectedAt, member.faceId),
      KEY.vector(face.faceId),
      KEY.image(image.imageId),
      KEY.face(image.imageId, 0),
      KEY.face(image.imageId, 1),
      KEY.person(`kept-${Object.keys(options).length}`),
    ]) {
      const stored = await item(key);
      expect([key, stored?.PK]).toEqual([key, key.PK]);
      expect([key, stored?.expiresAt]).toEqual([key, undefined]);
    }
  });
});
