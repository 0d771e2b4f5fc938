import { handleApiRequest } from '../../../../lib/http';
import type { Recognition } from '../../../../lib/pipeline/corrections';
import type { FaceIndex, RecognitionJob } from '../../../../lib/pipeline/ports';
import type { JobRecord, PersonRecord } from '../../../../lib/pipeline/records';
import type { StorageContext } from '../../../../lib/pipeline/stages/context';
import { apiRequestFactory, faceRecordFactory } from '../../../helpers/factories';

/**
 * When the API starts re-match and re-cluster jobs: only where they can run, that is with the face index (the ONNX
 * recognition backend). A Rekognition deployment stores no embeddings; a job sent there would fail into the
 * dead-letter queue.
 */

const person: PersonRecord = {
  personId: 'obama',
  revision: 'r1',
  name: 'Barack Obama',
  details: {},
  embeddings: [new Float32Array([1, 0])],
  photos: ['obama.jpg'],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

/** Stores for removing a person with one face recognised as them; the jobs written kept in `jobs`. */
function storage(faceIndex: FaceIndex | undefined, jobs: Map<string, JobRecord>): StorageContext {
  return {
    store: { exists: async () => false, list: async () => [] },
    results: {
      getPerson: async () => person,
      removePerson: async () => person,
      facesOfPerson: async () => [faceRecordFactory({ identity: { personId: 'obama', similarity: 0.6 } })],
      markUnknown: async () => undefined,
      facesRejecting: async () => [],
      forgetJobsOf: async () => [],
      putJob: async (job: JobRecord) => {
        jobs.set(job.jobId, job);
      },
      getJob: async (jobId: string) => jobs.get(jobId),
    },
    buckets: { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' },
    ...(faceIndex ? { faceIndex } : {}),
  } as unknown as StorageContext;
}

async function removeObama(faceIndex: FaceIndex | undefined) {
  const sent: RecognitionJob[] = [];
  const jobs = new Map<string, JobRecord>();
  const recognition = () => ({ send: async (job: RecognitionJob) => void sent.push(job) }) as unknown as Recognition;
  const response = await handleApiRequest(
    { storage: storage(faceIndex, jobs), stages: () => Promise.reject(new Error('no models')), recognition },
    apiRequestFactory('DELETE /people/{personId}', { path: { personId: 'obama' } }),
  );
  return { status: response.statusCode, body: JSON.parse(response.body), sent, jobs };
}

describe('DELETE /people/{personId} sends their faces back into clusters', () => {
  it('through a re-cluster job, with the face index', async () => {
    // Act
    const removed = await removeObama({} as FaceIndex);

    // Assess
    expect(removed.status).toBe(200);
    expect(removed.body.job).toMatchObject({ kind: 'recluster', status: 'queued', personId: null });
    expect(removed.sent).toEqual([
      { jobId: removed.body.job.jobId, kind: 'recluster', faceIds: [faceRecordFactory().faceId] },
    ]);
  });

  it('not at all without one (Rekognition recognition): no job, no message', async () => {
    // Act
    const removed = await removeObama(undefined);

    // Assess
    expect(removed.status).toBe(200);
    expect(removed.body.job).toBeNull();
    expect(removed.sent).toEqual([]);
    expect(removed.jobs.size).toBe(0);
  });
});
