import fs from 'node:fs';
import type { LocalPipeline } from '../../../lib/adapters/local/localPipeline';
import { type ApiContext, type AuditEntry, handleApiRequest } from '../../../lib/http';
import { imageIdOf } from '../../../lib/pipeline/ids';
import type { FaceRecord } from '../../../lib/pipeline/records';
import { apiRequestFactory } from '../../helpers/factories';
import { openPipeline, tempDataDir } from '../../helpers/localPipeline';
import { dataFile } from '../../helpers/testConfig';

/**
 * The HTTP routes of unknown faces, as a web gallery calls them, on the local pipeline with real photos: clusters
 * (list, show, page, split), naming a cluster, re-match jobs, "not this person", move, merge, search, and a removal
 * sending faces back into clusters. The deepface set's identity clusters say who each photo shows.
 */

const deepface = (name: string) => dataFile('verification', 'deepface_unit_dataset', name);
/** Streamed; the first photo of each is held out (enrolment, search). */
const STREAM = {
  id02: ['img12.jpg', 'img53.jpg', 'img54.jpg', 'img55.jpg', 'img56.jpg'],
  id04: ['img14.jpg', 'img15.jpg', 'img57.jpg', 'img58.jpg'],
} as const;
const HELD_OUT = { id02: 'img3.jpg', id04: 'img13.jpg' } as const;
const photoBody = (name: string) => ({ name, data: fs.readFileSync(deepface(name)).toString('base64') });

describe('the unknown-face routes on the local pipeline (real photos)', () => {
  const dataDir = tempDataDir('api-unknown');
  const audits: AuditEntry[] = [];
  let pipeline: LocalPipeline;
  let api: ApiContext;
  const personOf = new Map<string, string>();

  type CallOptions = { path?: Record<string, string>; query?: Record<string, string>; body?: unknown };
  // biome-ignore lint/suspicious/noExplicitAny: API answers, whose shape each assertion states
  type Answer = { status: number; body: any };
  async function call(routeKey: string, options: CallOptions = {}): Promise<Answer> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const response = await handleApiRequest(api, apiRequestFactory(routeKey, { ...options, body }));
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }
  /** The face each photo of the person shows (its largest; a photo may show someone small behind them). */
  const facesOf = async (person: keyof typeof STREAM) => {
    const largest = async (file: string) =>
      (await pipeline.results.facesOfImage(imageIdOf('ingest', `photos/${file}`))).sort(
        (a, b) => b.box.width * b.box.height - a.box.width * a.box.height,
      )[0] as FaceRecord;
    return Promise.all(STREAM[person].map(largest));
  };

  beforeAll(async () => {
    pipeline = await openPipeline(dataDir, { workers: 2 });
    for (const [person, files] of Object.entries(STREAM)) {
      for (const file of files) {
        await pipeline.upload(`photos/${file}`, fs.readFileSync(deepface(file)));
        personOf.set(imageIdOf('ingest', `photos/${file}`), person);
      }
    }
    await pipeline.drained();
    api = {
      storage: pipeline.storage,
      stages: async () => pipeline.context,
      recognition: () => pipeline.recognition,
      audit: (entry) => audits.push(entry),
    };
  }, 600_000);

  afterAll(async () => {
    await pipeline?.close();
  });

  /** id02's largest cluster (her photos may sit in more than one: recall gives before precision does). */
  let clusterId = '';
  let splitOff = '';

  it('lists clusters, shows one, pages through its faces and splits it', async () => {
    // Prepare
    const id02 = await facesOf('id02');
    const count = new Map<string, number>();
    for (const f of id02) if (f.clusterId) count.set(f.clusterId, (count.get(f.clusterId) ?? 0) + 1);
    clusterId = [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    const inCluster = id02.filter((f) => f.clusterId === clusterId);
    expect(inCluster.length).toBeGreaterThanOrEqual(3);
    const members = (await pipeline.results.clusterMembers(clusterId)).map((m) => m.faceId).sort();
    splitOff = inCluster[inCluster.length - 1]?.faceId as string;

    // Act
    const listed = await call('GET /clusters');
    const shown = await call('GET /clusters/{clusterId}', { path: { clusterId }, query: { limit: '2' } });
    const paged: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await call('GET /faces', { query: { cluster: clusterId, limit: '2', ...(next ? { next } : {}) } });
      expect(page).toMatchObject({ status: 200, body: { cluster: clusterId } });
      paged.push(...page.body.faces.map((f: { faceId: string }) => f.faceId));
      next = page.body.next ?? undefined;
      pages++;
    } while (next);
    const split = await call('POST /clusters/{clusterId}/split', { path: { clusterId }, body: { faces: [splitOff] } });
    const missing = await call('GET /clusters/{clusterId}', { path: { clusterId: 'c000000000000000' } });

    // Assess
    expect(listed.status).toBe(200);
    const sizes = Object.fromEntries(
      listed.body.clusters.map((c: { clusterId: string; size: number }) => [c.clusterId, c.size]),
    );
    expect(sizes[clusterId]).toBe(members.length);
    expect(shown).toMatchObject({ status: 200, body: { clusterId, size: members.length, asked: clusterId, via: [] } });
    expect(shown.body.faces).toHaveLength(2);
    expect(paged.sort()).toEqual(members);
    expect(pages).toBe(Math.floor(members.length / 2) + 1);
    expect(split).toMatchObject({ status: 200, body: { from: clusterId, faces: 1 } });
    expect(split.body.into).not.toBe(clusterId);
    expect((await pipeline.results.clusterMembers(clusterId)).map((m) => m.faceId)).not.toContain(splitOff);
    expect(missing.status).toBe(404);
  });

  it('names a cluster (its faces theirs, a re-match job done), and its id then says whom', async () => {
    // Prepare
    const members = (await pipeline.results.clusterMembers(clusterId)).map((m) => m.faceId);

    // Act
    const named = await call('POST /people', { body: { personId: 'id02', name: 'Two', fromCluster: clusterId } });
    const job = await call('GET /jobs/{jobId}', { path: { jobId: named.body.job.jobId } });
    const alias = await call('GET /clusters/{clusterId}', { path: { clusterId } });
    const theirs = await call('GET /faces', { query: { person: 'id02' } });

    // Assess: the cluster's faces are hers, its most typical in her gallery; the re-match named only faces of hers
    expect(named).toMatchObject({
      status: 201,
      body: {
        personId: 'id02',
        name: 'Two',
        fromCluster: { cluster: clusterId, named: members.length, left: 0, galleryAdded: Math.min(members.length, 5) },
      },
    });
    expect(job).toMatchObject({ status: 200, body: { kind: 'rematch', personId: 'id02', status: 'done' } });
    expect(alias.body).toMatchObject({ clusterId, namedAs: 'id02' });
    const hers = new Set((await facesOf('id02')).map((f) => f.faceId));
    const namedIds: string[] = theirs.body.faces.map((f: { faceId: string }) => f.faceId);
    expect(namedIds.length).toBe(members.length + job.body.changed);
    expect(namedIds.filter((id) => !hers.has(id))).toEqual([]);
    for (const id of members) expect(namedIds).toContain(id);
  });

  it('rejects, moves and merges, and a rejection holds through a new enrolment', async () => {
    // Prepare: a face named id02 from the cluster
    const face = (await facesOf('id02')).find((f) => f.identity?.personId === 'id02' && f.faceId !== splitOff)
      ?.faceId as string;

    // Act
    const rejected = await call('POST /faces/{faceId}/reject', { path: { faceId: face }, body: { person: 'id02' } });
    const enrolled = await call('POST /people', {
      body: { personId: 'id02b', name: 'Two again', photos: [photoBody(HELD_OUT.id02)] },
    });
    const afterEnrolment = (await facesOf('id02')).find((f) => f.faceId === face);
    const moved = await call('POST /faces/{faceId}/move', { path: { faceId: face }, body: { person: 'id02' } });
    const id02bFaces = (await facesOf('id02')).filter((f) => f.identity?.personId === 'id02b').map((f) => f.faceId);
    const merged = await call('POST /people/{personId}/merge', { path: { personId: 'id02' }, body: { from: 'id02b' } });

    // Assess
    expect(rejected).toMatchObject({ status: 200, body: { faceId: face, notPerson: 'id02' } });
    expect(enrolled).toMatchObject({ status: 201, body: { job: { kind: 'rematch', status: 'done' } } });
    // Still not id02 after another enrolment's re-match (id02b may take it: it was only said not to be id02)
    expect(afterEnrolment?.identity?.personId).not.toBe('id02');
    expect(moved).toMatchObject({ status: 200, body: { faceId: face, personId: 'id02' } });
    expect(merged).toMatchObject({ status: 200, body: { into: 'id02', from: 'id02b', facesMoved: id02bFaces.length } });
    expect((await call('GET /people/{personId}', { path: { personId: 'id02b' } })).status).toBe(404);
    const after = await facesOf('id02');
    expect(after.find((f) => f.faceId === face)?.identity?.personId).toBe('id02');
    for (const id of id02bFaces) expect(after.find((f) => f.faceId === id)?.identity?.personId).toBe('id02');
    for (const f of await facesOf('id04')) expect(f.identity?.personId).toBeNull();
  });

  it('finds the faces most alike a photo, known and unknown, with images and times', async () => {
    // Act
    const search = await call('POST /search', { body: { photo: photoBody(HELD_OUT.id04), limit: 4 } });

    // Assess: the four most alike are the four unknown faces of id04
    expect(search.status).toBe(200);
    expect(search.body.hits).toHaveLength(4);
    for (const hit of search.body.hits) {
      expect(personOf.get(imageIdOf('ingest', hit.face.image))).toBe('id04');
      expect(hit.face).toMatchObject({ detectedAt: expect.any(String), identity: { personId: null } });
      expect(hit.similarity).toBeGreaterThan(0.47);
    }
  });

  it('sends a removed person’s faces back into clusters, and audits every correction', async () => {
    // Act
    const removed = await call('DELETE /people/{personId}', { path: { personId: 'id02' } });

    // Assess
    expect(removed).toMatchObject({ status: 200, body: { job: { kind: 'recluster', status: 'done' } } });
    for (const face of await facesOf('id02')) {
      expect(face.identity?.personId).toBeNull();
      expect(face.clusterId).toMatch(/^c[0-9a-f]{15}$/);
    }
    const actions = audits.map((a) => a.action);
    for (const action of [
      'read-cluster',
      'split-cluster',
      'name-cluster',
      'reject-face',
      'move-face',
      'merge-people',
      'search',
    ]) {
      expect(actions).toContain(action);
    }
    expect(audits.find((a) => a.action === 'merge-people')).toMatchObject({ personId: 'id02', fromPersonId: 'id02b' });
  });
});
