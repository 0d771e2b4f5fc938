import fs from 'node:fs';
import path from 'node:path';
import { tempDataDir } from '../../helpers/localPipeline';
import { runCli } from '../../helpers/localStore';
import { dataFile } from '../../helpers/testConfig';

// The built CLI (bin/facepipe.js runs dist/): run `npm run build` before these tests.
jest.setTimeout(600_000);

/**
 * The unknown-face commands as a user runs them, one process each, on real photos: clusters list and show, query
 * --cluster, people add --from-cluster, search, faces reject, people add with photos (re-matching), people merge,
 * clusters consolidate. The deepface set's identity clusters say who each photo shows.
 */

const deepface = (name: string) => dataFile('verification', 'deepface_unit_dataset', name);
const ID04 = ['img14.jpg', 'img15.jpg', 'img57.jpg', 'img58.jpg'];
const ID11 = ['img30.jpg', 'img31.jpg', 'img32.jpg', 'img33.jpg'];
// biome-ignore lint/suspicious/noExplicitAny: JSON lines, whose shape each assertion states
const jsonLines = (text: string): any[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

describe('facepipe clusters, faces, search and people add --from-cluster (built CLI)', () => {
  const dataDir = tempDataDir('cli-unknown');
  const photos = path.join(dataDir, '..', `${path.basename(dataDir)}-photos`);
  const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir]);

  beforeAll(async () => {
    fs.mkdirSync(photos, { recursive: true });
    for (const file of [...ID04, ...ID11]) fs.copyFileSync(deepface(file), path.join(photos, file));
    const run = await cli('run', photos, '--json');
    expect(run.code).toBe(0);
  });

  afterAll(() => {
    fs.rmSync(photos, { recursive: true, force: true });
  });

  it('turns a cluster into a person, finds faces by a photo, and keeps a rejection through an enrolment', async () => {
    // Prepare: id04's photos, by their faces' cluster
    const unknown = jsonLines((await cli('query', '--unknown', '--json')).stdout);
    const id04Faces = unknown.filter((f) => ID04.includes(path.basename(f.image)));
    expect(id04Faces).toHaveLength(ID04.length);
    const counts = new Map<string, number>();
    for (const f of id04Faces) counts.set(f.cluster, (counts.get(f.cluster) ?? 0) + 1);
    const [clusterId, size] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] as [string, number];
    expect(size).toBeGreaterThanOrEqual(2);

    // Act
    const listed = jsonLines((await cli('clusters', 'list', '--json')).stdout);
    const shown = jsonLines((await cli('clusters', 'show', clusterId, '--json')).stdout);
    const byCluster = jsonLines((await cli('query', '--cluster', clusterId, '--json')).stdout);
    const named = await cli('people', 'add', 'id04', '--name', 'Four', '--from-cluster', clusterId, '--json');
    const search = await cli('search', deepface('img13.jpg'), '--limit', '3', '--json');
    const rejectedFace = id04Faces.find((f) => f.cluster === clusterId).faceId;
    const rejected = await cli('faces', 'reject', rejectedFace, '--json');
    const again = await cli('people', 'add', 'id04', deepface('img13.jpg'), '--json');
    const enrolledTwice = await cli('people', 'add', 'id04b', '--name', 'Four again', deepface('img13.jpg'), '--json');
    const merged = await cli('people', 'merge', 'id04b', 'id04', '--json');
    const consolidated = await cli('clusters', 'consolidate', '--all', '--json');
    const theirs = jsonLines((await cli('query', '--person', 'id04', '--json')).stdout);

    // Assess
    expect(listed.find((c) => c.clusterId === clusterId)?.size).toBe(size);
    expect(shown[0]).toMatchObject({ clusterId, size, asked: clusterId });
    expect(byCluster.map((f) => f.faceId).sort()).toEqual(
      id04Faces
        .filter((f) => f.cluster === clusterId)
        .map((f) => f.faceId)
        .sort(),
    );
    expect(named.code).toBe(0);
    expect(jsonLines(named.stdout)[0]).toMatchObject({
      cluster: clusterId,
      named: size,
      person: { personId: 'id04', name: 'Four' },
      job: { kind: 'rematch', status: 'done' },
    });
    // The three most alike stored faces of a photo of hers never stored are hers, and say where and when
    expect(search.code).toBe(0);
    const hits = jsonLines(search.stdout);
    expect(hits).toHaveLength(3);
    for (const hit of hits) {
      expect(ID04).toContain(path.basename(hit.face.image));
      expect(hit.face.detectedAt).toEqual(expect.any(String));
      expect(hit.similarity).toBeGreaterThan(0.47);
    }
    expect(jsonLines(rejected.stdout)[0]).toMatchObject({ faceId: rejectedFace, notPerson: 'id04' });
    expect([again.code, enrolledTwice.code, merged.code, consolidated.code]).toEqual([0, 0, 0, 0]);
    // Her photo enrolled again, another enrolment re-matched, the two merged, clusters consolidated: still not hers
    expect(theirs.map((f) => f.faceId)).not.toContain(rejectedFace);
    for (const face of theirs) expect(ID04).toContain(path.basename(face.image));
    const faceNow = jsonLines((await cli('query', '--unknown', '--json')).stdout).find(
      (f) => f.faceId === rejectedFace,
    );
    expect(faceNow?.identity?.personId ?? null).toBeNull();
    // Nobody else's face became hers
    const id11 = jsonLines((await cli('query', '--unknown', '--json')).stdout).filter((f) =>
      ID11.includes(path.basename(f.image)),
    );
    expect(id11).toHaveLength(ID11.length);
  });
});
