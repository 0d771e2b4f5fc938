import fs from 'node:fs';
import { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { rejectFace } from '../../../lib/pipeline/corrections';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { FaceRecord } from '../../../lib/pipeline/records';
import { openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile, testConfig } from '../../helpers/testConfig';

/**
 * A camera that uploads every shot under the same key (`cam/latest.jpg`) replaces the photo each time. The faces of
 * the photo replaced must go with everything derived from them, as in an erasure: their places in clusters (member
 * items hold the embedding), their face-index entries and the "not this person" they carried. And a face of the new
 * photo, which takes the face id of the one it replaces, must not be put in the old face's cluster. Real photos
 * through the local pipeline.
 */

const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const KEY = 'cam/latest.jpg';
const IMAGE_ID = imageIdOf('ingest', KEY);

describe('a photo replaced under the same key', () => {
  const dataDir = tempDataDir('replaced');
  let pipeline: LocalPipeline;
  let first: FaceRecord[];
  let firstClusters: string[];

  const upload = async (bytes: Buffer) => {
    await pipeline.upload(KEY, bytes);
    await pipeline.drained();
  };
  /** What the table holds of clusters, members, rejections and face-index entries. */
  const derived = async () => {
    const items = await tableItems(pipeline);
    const clusters = await pipeline.results.listClusters();
    const members = (await Promise.all(clusters.map((c) => pipeline.results.clusterMembers(c.clusterId)))).flat();
    return {
      clusters,
      members,
      rejections: items.filter((i) => i.type === 'rejection'),
      vectors: items.filter((i) => i.type === 'vector').map((i) => i.faceId as string),
    };
  };

  beforeAll(async () => {
    pipeline = await openPipeline(dataDir, { workers: 1 });
    await enrolPerson(pipeline.context, {
      personId: 'obama',
      name: 'Barack Obama',
      photos: [{ name: 'obama.jpg', bytes: fs.readFileSync(knn('train', 'obama', 'obama.jpg')) }],
    });
    // The first shot: Obama (named, then "not this person": a rejection, and the face joins a cluster) and others.
    await upload(fs.readFileSync(knn('test', 'obama_and_biden.jpg')));
    const obama = (await pipeline.results.facesOfImage(IMAGE_ID)).find((f) => f.identity?.personId === 'obama');
    await rejectFace(pipeline.storage, pipeline.recognition, (obama as FaceRecord).faceId);
    first = await pipeline.results.facesOfImage(IMAGE_ID);
    firstClusters = first.flatMap((f) => (f.clusterId ? [f.clusterId] : []));
  }, 300_000);

  afterAll(async () => {
    await pipeline?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts with the first shot clustered, rejected and indexed', async () => {
    // Assess: the preparation holds what the replacement must remove
    expect(first).toHaveLength(3);
    expect(firstClusters).toHaveLength(3);
    const before = await derived();
    expect(before.members).toHaveLength(3);
    expect(before.rejections).toHaveLength(1);
    expect(before.vectors.sort()).toEqual(first.map((f) => f.faceId).sort());
  });

  it('leaves only the new shot: no member, cluster, rejection or index entry of a face replaced', async () => {
    // Act: the next shot, one face of someone else
    await upload(fs.readFileSync(dataFile('verification', 'deepface_unit_dataset', 'img1.jpg')));

    // Assess
    const now = await pipeline.results.facesOfImage(IMAGE_ID);
    expect(now).toHaveLength(1);
    const face = now[0] as FaceRecord;
    expect(face.crop.key).not.toBe(first[0]?.crop.key);
    const after = await derived();
    // Its one cluster is a new one, with it alone: not the cluster the face of the same id was in.
    expect(face.clusterId).toBeDefined();
    expect(firstClusters).not.toContain(face.clusterId);
    expect(after.clusters.map((c) => [c.clusterId, c.size])).toEqual([[face.clusterId, 1]]);
    expect(after.members.map((m) => [m.faceId, m.detectedAt])).toEqual([[face.faceId, face.detectedAt]]);
    expect(after.rejections).toEqual([]);
    expect(after.vectors).toEqual([face.faceId]);
  });

  it('leaves nothing of any face when the next upload is not an image', async () => {
    // Act
    await upload(Buffer.from('not a photo: a camera wrote half a file'));

    // Assess
    expect((await pipeline.results.getImage(IMAGE_ID))?.status).toBe('failed');
    expect(await pipeline.results.facesOfImage(IMAGE_ID)).toEqual([]);
    const after = await derived();
    expect({ clusters: after.clusters.length, members: after.members.length }).toEqual({ clusters: 0, members: 0 });
    expect(after.rejections).toEqual([]);
    expect(after.vectors).toEqual([]);
  });
});

/**
 * `facepipe run --force` analyses a photo again: every face is described, recognised and clustered anew, but what a user
 * said of a face stays with it, and no cluster counts a face twice.
 */
describe('a photo analysed again (--force)', () => {
  const dataDir = tempDataDir('reanalysed');
  let pipeline: LocalPipeline | undefined;
  afterAll(async () => {
    await pipeline?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps its "not this person", and its faces in one cluster each, counted once', async () => {
    // Prepare: Obama enrolled; the photo run; his face there is "not Obama" (so it is unknown, in a cluster).
    pipeline = await openPipeline(dataDir, { workers: 1 });
    await enrolPerson(pipeline.context, {
      personId: 'obama',
      name: 'Barack Obama',
      photos: [{ name: 'obama.jpg', bytes: fs.readFileSync(knn('train', 'obama', 'obama.jpg')) }],
    });
    const bytes = fs.readFileSync(knn('test', 'obama_and_biden.jpg'));
    await pipeline.upload(KEY, bytes);
    await pipeline.drained();
    const named = (await pipeline.results.facesOfImage(IMAGE_ID)).find((f) => f.identity?.personId === 'obama');
    await rejectFace(pipeline.storage, pipeline.recognition, (named as FaceRecord).faceId);
    await pipeline.close();

    // Act: the same photo, analysed again.
    pipeline = await LocalPipeline.open({ dataDir, config: testConfig(), workers: 1, force: true });
    await pipeline.upload(KEY, bytes);
    await pipeline.drained();

    // Assess
    const faces = await pipeline.results.facesOfImage(IMAGE_ID);
    const rejected = faces.find((f) => f.faceId === named?.faceId) as FaceRecord;
    expect(rejected.rejectedPeople).toEqual(['obama']);
    expect(rejected.identity?.personId).toBeNull();
    expect(faces.map((f) => f.identity?.personId)).not.toContain('obama');
    const clusters = await pipeline.results.listClusters();
    const members = (
      await Promise.all(clusters.map((c) => pipeline?.results.clusterMembers(c.clusterId) ?? []))
    ).flat();
    expect(members.map((m) => m.faceId).sort()).toEqual(faces.map((f) => f.faceId).sort());
    expect(clusters.map((c) => c.size)).toEqual(faces.map(() => 1));
    expect(await pipeline.results.facesRejecting('obama')).toEqual([rejected.faceId]);
  });
});
