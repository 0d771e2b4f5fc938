import fs from 'node:fs';
import path from 'node:path';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { consolidateClusters, resolveCluster } from '../../../lib/pipeline/clusters';
import {
  faceById,
  GALLERY_FROM_CLUSTER,
  moveFace,
  nameCluster,
  rejectFace,
  splitCluster,
} from '../../../lib/pipeline/corrections';
import { eraseImage, removePerson } from '../../../lib/pipeline/erasure';
import { imageIdOf } from '../../../lib/pipeline/ids';
import { enrolPerson } from '../../../lib/pipeline/people';
import type { FaceRecord } from '../../../lib/pipeline/records';
import { startJob } from '../../../lib/pipeline/rematch';
import { searchByPhoto } from '../../../lib/pipeline/search';
import { bucketFiles, openPipeline, tableItems, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * Unknown faces as first-class citizens on real photos, through the local pipeline: clusters with stable ids,
 * enrolment after the photos were processed (re-matching), naming a cluster, "not this person" kept through
 * re-matching, enrolments and consolidation, moving, splitting, search by face, and erasure leaving nothing of any
 * of it. Labels: the deepface set's identity clusters (derived_identity_clusters.csv) and the knn examples' names.
 */

const deepface = (name: string) => dataFile('verification', 'deepface_unit_dataset', name);
const knn = (...p: string[]) => dataFile('verification', 'face_recognition_knn_examples', ...p);
const PEOPLE = {
  // id01's img1.jpg is kept out of the stream: it enrols her after the run.
  id01: ['img2.jpg', 'img4.jpg', 'img5.jpg', 'img6.jpg', 'img7.jpg', 'img10.jpg', 'img11.jpg'],
  id02: ['img3.jpg', 'img12.jpg', 'img53.jpg', 'img54.jpg', 'img55.jpg', 'img56.jpg'],
  id04: ['img13.jpg', 'img14.jpg', 'img15.jpg', 'img57.jpg', 'img58.jpg'],
  id11: ['img29.jpg', 'img30.jpg', 'img31.jpg', 'img32.jpg', 'img33.jpg'],
} as const;
const KNN_TEST = [
  'alex_lacamoire1.jpg',
  'johnsnow_test1.jpg',
  'kit_with_rose.jpg',
  'obama1.jpg',
  'obama_and_biden.jpg',
];

describe('clusters, re-matching and corrections on real photos', () => {
  const dataDir = tempDataDir('clusters');
  const stream = path.join(dataDir, 'photos');
  let pipeline: LocalPipeline;
  /** Who each uploaded deepface photo shows, by image id. */
  const personOfImage = new Map<string, string>();

  const keyOf = (file: string) => path.join(fs.realpathSync(stream), file).replace(/^\//, '');
  const facesOfPhoto = (file: string) => pipeline.results.facesOfImage(imageIdOf('ingest', keyOf(file)));
  const largestFace = async (file: string) => {
    const faces = await facesOfPhoto(file);
    return faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0] as FaceRecord;
  };
  const labelledFaces = async () => {
    const out: { face: FaceRecord; person: string }[] = [];
    for (const [person, files] of Object.entries(PEOPLE)) {
      for (const file of files) out.push({ face: await largestFace(file), person });
    }
    return out;
  };

  beforeAll(async () => {
    fs.mkdirSync(stream, { recursive: true });
    for (const [person, files] of Object.entries(PEOPLE)) {
      for (const file of files) {
        fs.copyFileSync(deepface(file), path.join(stream, file));
        personOfImage.set(imageIdOf('ingest', keyOf(file)), person);
      }
    }
    for (const file of KNN_TEST) fs.copyFileSync(knn('test', file), path.join(stream, file));
    pipeline = await openPipeline(dataDir, { workers: 2 });
    for (const file of fs.readdirSync(stream).sort()) {
      await pipeline.upload(keyOf(file), fs.readFileSync(path.join(stream, file)));
    }
    await pipeline.drained();
  }, 600_000);

  afterAll(async () => {
    await pipeline?.close();
  });

  it('puts every unknown face in a cluster with a stable id, never two people in one', async () => {
    // Act
    const labelled = await labelledFaces();
    const byCluster = new Map<string, Set<string>>();
    for (const { face, person } of labelled) {
      expect(face.identity?.personId).toBeNull();
      expect(face.clusterId).toMatch(/^c[0-9a-f]{15}$/);
      byCluster.set(face.clusterId as string, (byCluster.get(face.clusterId as string) ?? new Set()).add(person));
    }
    // Assess: purity 1, and each person mostly in one cluster (23 faces of 4 people)
    for (const people of byCluster.values()) expect(people.size).toBe(1);
    expect(labelled).toHaveLength(23);
    expect(byCluster.size).toBeLessThanOrEqual(6);
    const clusters = await pipeline.results.listClusters();
    const members = (await Promise.all(clusters.map((c) => pipeline.results.clusterMembers(c.clusterId)))).flat();
    expect(clusters.reduce((n, c) => n + c.size, 0)).toBe(members.length);
  });

  it('names every earlier face of a person enrolled after the run, and no one else', async () => {
    // Act
    await enrolPerson(pipeline.context, {
      personId: 'id01',
      name: 'Person One',
      photos: [{ name: 'img1.jpg', bytes: fs.readFileSync(deepface('img1.jpg')) }],
    });
    const job = await startJob(pipeline.storage, pipeline.recognition.send, { kind: 'rematch', personId: 'id01' });

    // Assess
    const done = await pipeline.results.getJob(job.jobId);
    expect(done?.status).toBe('done');
    const named = await pipeline.results.facesOfPerson('id01');
    const theirs = (await labelledFaces()).filter((l) => l.person === 'id01').map((l) => l.face.faceId);
    expect(named.map((f) => f.faceId).sort()).toEqual([...theirs].sort());
    expect(done?.changed).toBe(theirs.length);
    for (const face of named) expect(face.clusterId).toBeUndefined();
  });

  it('keeps a rejected face rejected through re-matching, new enrolments and consolidation', async () => {
    // Prepare
    const rejected = await largestFace('img2.jpg');
    expect(rejected.identity?.personId).toBe('id01');

    // Act
    await rejectFace(pipeline.storage, pipeline.recognition, rejected.faceId);
    await enrolPerson(pipeline.context, {
      personId: 'id01',
      photos: [{ name: 'img2.jpg', bytes: fs.readFileSync(deepface('img2.jpg')) }],
    });
    await startJob(pipeline.storage, pipeline.recognition.send, { kind: 'rematch', personId: 'id01' });
    await consolidateClusters(pipeline.storage, {
      all: true,
      mergeThreshold: pipeline.config.recognition.clusterMergeThreshold,
    });

    // Assess: the very same photo enrolled, every face re-matched, the clusters consolidated: still not hers
    const after = await faceById(pipeline.storage, rejected.faceId);
    expect(after.identity?.personId).toBeNull();
    expect(after.rejectedPeople).toEqual(['id01']);
    expect(after.clusterId).toBeDefined();
    expect(await pipeline.results.facesRejecting('id01')).toEqual([rejected.faceId]);
    const gallery = await pipeline.results.getPerson('id01');
    expect(gallery?.embeddings).toHaveLength(2);
  });

  it('turns a cluster into a person: its faces theirs, its most typical join the gallery, its id an alias', async () => {
    // Prepare
    const face = await largestFace('img3.jpg');
    const clusterId = face.clusterId as string;
    const size = (await pipeline.results.getCluster(clusterId))?.size ?? 0;

    // Act
    const named = await nameCluster(pipeline.storage, pipeline.recognition, {
      personId: 'id02',
      clusterId,
      name: 'Two',
    });

    // Assess
    expect(named.named).toBe(size);
    expect(named.galleryAdded).toBe(Math.min(size, GALLERY_FROM_CLUSTER));
    const person = await pipeline.results.getPerson('id02');
    expect(person?.embeddingFaces?.filter(Boolean)).toHaveLength(named.galleryAdded);
    expect(await resolveCluster(pipeline.storage, clusterId)).toEqual({ namedAs: 'id02', via: expect.any(Array) });
    for (const { face: f, person: p } of await labelledFaces()) {
      if (p === 'id02') expect(f.identity?.personId === 'id02' || f.clusterId !== undefined).toBe(true);
      else expect(f.identity?.personId).not.toBe('id02');
    }
  });

  it('splits a cluster for good, moves a face, and finds faces by a photo', async () => {
    // Prepare: id04's cluster
    const faces = await Promise.all(PEOPLE.id04.map(largestFace));
    const clusterId = faces[0]?.clusterId as string;
    const inIt = faces.filter((f) => f.clusterId === clusterId);
    expect(inIt.length).toBeGreaterThanOrEqual(2);
    const off = inIt[0] as FaceRecord;

    // Act: consolidation told to merge every pair it may (any linkage at all)
    const split = await splitCluster(pipeline.storage, pipeline.recognition, clusterId, [off.faceId]);
    await consolidateClusters(pipeline.storage, { all: true, mergeThreshold: -1 });
    const moved = await moveFace(pipeline.storage, pipeline.recognition, (inIt[1] as FaceRecord).faceId, 'id02');
    const search = await searchByPhoto(pipeline.context, fs.readFileSync(deepface('img1.jpg')), { limit: 5 });

    // Assess
    const after = await faceById(pipeline.storage, off.faceId);
    const original = await resolveCluster(pipeline.storage, clusterId);
    expect(split.from).toBe(clusterId);
    expect(after.rejectedClusters).toContain(clusterId);
    expect(after.clusterId).toBeDefined();
    expect('cluster' in original && original.cluster.clusterId).not.toBe(after.clusterId);
    expect(moved.personId).toBe('id02');
    expect((await faceById(pipeline.storage, moved.faceId)).clusterId).toBeUndefined();
    // The most alike stored faces of id01's enrolment photo are id01's.
    const hits = search.hits.slice(0, 3).map((h) => personOfImage.get(imageIdOf('ingest', h.face.image)));
    expect(hits).toEqual(['id01', 'id01', 'id01']);
    expect(search.hits[0]?.similarity).toBeGreaterThan(0.5);
  });

  it('turns a removed person’s faces back into unknowns that rejoin clusters', async () => {
    // Act
    await removePerson(pipeline.storage, 'id02', {
      recluster: async (faces) => {
        await startJob(pipeline.storage, pipeline.recognition.send, {
          kind: 'recluster',
          faceIds: faces.map((f) => f.faceId),
        });
      },
    });

    // Assess
    for (const file of PEOPLE.id02) {
      const face = await largestFace(file);
      expect(face.identity?.personId).toBeNull();
      expect(face.clusterId).toMatch(/^c[0-9a-f]{15}$/);
    }
  });

  it('erases an image and a person so that no cluster, rejection, index entry or gallery copy is left', async () => {
    // Prepare: img2's face is rejected for id01 and sits in a cluster; id01's faces are named
    const image = await largestFace('img2.jpg');
    const theirs = await pipeline.results.facesOfPerson('id01');
    const needles = [image.imageId, image.faceId, ...theirs.map((f) => f.faceId), ...theirs.map((f) => f.imageId)];

    // Act
    await eraseImage(pipeline.storage, image.sourceKey);
    await removePerson(pipeline.storage, 'id01', { erase: true });

    // Assess: every table item (but the erasure marks, which by design keep only the time under the image's key),
    // every bucket object, every face index entry (the file too, once compacted)
    const all = await tableItems(pipeline);
    const marks = all.filter((i) => i.type === 'erased-image');
    for (const mark of marks) expect(Object.keys(mark).sort()).toEqual(['PK', 'SK', 'erasedAt', 'type']);
    const items = JSON.stringify(all.filter((i) => i.type !== 'erased-image'));
    const files = bucketFiles(dataDir).join('\n');
    const index = fs.readFileSync(path.join(dataDir, 'index', 'faces.log'), 'latin1');
    for (const needle of needles) {
      expect({
        needle,
        inTable: items.includes(needle),
        inBuckets: files.includes(needle),
        inIndex: index.includes(needle),
      }).toEqual({ needle, inTable: false, inBuckets: false, inIndex: false });
    }
    expect(items).not.toContain('id01');
    const clusters = await pipeline.results.listClusters();
    const members = (await Promise.all(clusters.map((c) => pipeline.results.clusterMembers(c.clusterId)))).flat();
    expect(members.map((m) => m.faceId)).not.toContain(image.faceId);
    expect(clusters.reduce((n, c) => n + c.size, 0)).toBe(members.length);
  });
});
