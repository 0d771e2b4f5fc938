import { randomUUID } from 'node:crypto';
import type { FacepipeConfig } from '../config';
import { FacepipeError } from '../errors';
import { type ClusterCache, clusterFaces, leaveMembership, memberOf } from './clusters';
import { parseFaceId } from './ids';
import type { FaceIndex, RecognitionJob } from './ports';
import {
  assignBySimilarity,
  type EnrolledPerson,
  embeddingSimilarities,
  identificationRule,
  mayBeNamed,
} from './recognition';
import type { FaceRecord, JobRecord } from './records';
import { nowIso, type StorageContext } from './stages/context';

/**
 * Re-matching and re-clustering stored faces, as jobs with visible progress (`JobRecord`, `GET /jobs/{id}`):
 *
 * - **rematch** (after a person is enrolled, gets photos, or is named from a cluster): the unknown faces alike any of
 *   the person's embeddings at or above the identification threshold are found in the face index (vector work on
 *   stored embeddings: at most `MAX_CANDIDATES` per embedding, nothing else is read), then decided one by one with the
 *   recognise stage's own rule against the whole gallery: a face becomes the person only when the rule names them,
 *   the face is clear enough, no user rejected them for it, and no other face of its photo is them already. It leaves
 *   its cluster. A face named meanwhile by something else is left alone (the claim is conditional on it being unknown).
 * - **recluster** (after a person is removed, their faces are unknown again): those faces' photos go through
 *   clustering again, as in the recognise stage.
 *
 * A job is planned in one message and worked in batches of `BATCH` faces, each its own message: on AWS each is an
 * SQS message to the re-match function (bounded work per invocation, retried alone, dead-lettered after its
 * retries); locally they run at once, one after the other.
 */

/** Faces looked at per batch message. */
export const BATCH = 100;
/** Candidates per enrolled embedding at most (the index returns the most alike first). */
export const MAX_CANDIDATES = 2000;

/** Where job messages go: an SQS queue on AWS, straight to `runRecognitionJob` locally. */
export type JobSender = (job: RecognitionJob) => Promise<void>;

export interface JobContext extends StorageContext {
  faceIndex?: FaceIndex;
}

/** Starts a job: its record (queued), then its planning message. */
export async function startJob(
  context: JobContext,
  send: JobSender,
  job: { kind: 'rematch'; personId: string } | { kind: 'recluster'; faceIds: readonly string[] },
): Promise<JobRecord> {
  const at = nowIso(context);
  const record: JobRecord = {
    jobId: randomUUID(),
    kind: job.kind,
    ...(job.kind === 'rematch' ? { personId: job.personId } : {}),
    status: 'queued',
    examined: 0,
    changed: 0,
    createdAt: at,
    updatedAt: at,
  };
  await context.results.putJob(record);
  await send(
    job.kind === 'rematch'
      ? { jobId: record.jobId, kind: 'rematch', personId: job.personId }
      : { jobId: record.jobId, kind: 'recluster', faceIds: [...job.faceIds] },
  );
  return (await context.results.getJob(record.jobId)) ?? record;
}

/**
 * Handles one job message: a planning message (no batch yet) finds the faces and sends one batch message per
 * `BATCH` of them; a batch message decides its faces and adds to the job's counters. The last batch marks it done.
 */
export async function runRecognitionJob(
  context: JobContext,
  settings: FacepipeConfig['recognition'],
  clusters: ClusterCache,
  send: JobSender,
  job: RecognitionJob,
): Promise<void> {
  const { results } = context;
  if (job.batch === undefined) {
    const faceIds = job.kind === 'rematch' ? await rematchCandidates(context, settings, job.personId) : job.faceIds;
    const batches = chunk([...new Set(faceIds)].sort(), BATCH);
    await results.updateJob(job.jobId, { status: batches.length > 0 ? 'running' : 'done', total: faceIds.length });
    for (const [i, faces] of batches.entries()) await send({ ...job, faceIds: faces, batch: i });
    return;
  }
  const faceIds = job.faceIds ?? [];
  const changed =
    job.kind === 'rematch'
      ? await rematchFaces(context, settings, clusters, job.personId, faceIds)
      : await reclusterFaces(context, settings, clusters, faceIds);
  await results.updateJob(job.jobId, { examined: faceIds.length, changed });
  const now = await results.getJob(job.jobId);
  if (now && now.status === 'running' && now.total !== undefined && now.examined >= now.total) {
    await results.updateJob(job.jobId, { status: 'done' });
  }
}

const chunk = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The stored faces at least as alike any of the person's embeddings as the identification threshold (for the gallery
 * as it is now: the batches decide with the gallery as it is then, so a face found here may still stay unknown).
 */
async function rematchCandidates(
  context: JobContext,
  settings: FacepipeConfig['recognition'],
  personId: string,
): Promise<string[]> {
  const people = await context.results.listPeople();
  const person = people.find((p) => p.personId === personId);
  if (!person) return [];
  if (!context.faceIndex) throw new FacepipeError('INVALID_OPTION', 'Re-matching needs the face index.');
  const { threshold } = identificationRule(settings, people.length);
  const found = new Set<string>();
  for (const embedding of person.embeddings) {
    const matches = await context.faceIndex.nearest(embedding, { limit: MAX_CANDIDATES, minSimilarity: threshold });
    for (const match of matches) found.add(match.faceId);
  }
  return [...found];
}

async function facesById(context: StorageContext, faceIds: readonly string[]): Promise<FaceRecord[]> {
  const faces: FaceRecord[] = [];
  for (const faceId of faceIds) {
    const id = parseFaceId(faceId);
    const face = id && (await context.results.getFace(id.imageId, id.index));
    if (face) faces.push(face);
  }
  return faces;
}

/**
 * Decides each face for the person with the recognise stage's rule against the whole gallery; names those it names
 * them (unknown faces only), takes them out of their clusters. Returns how many were named.
 */
export async function rematchFaces(
  context: StorageContext,
  settings: FacepipeConfig['recognition'],
  clusters: ClusterCache,
  personId: string,
  faceIds: readonly string[],
): Promise<number> {
  const people: EnrolledPerson[] = await context.results.listPeople();
  const target = people.findIndex((p) => p.personId === personId);
  if (target < 0) return 0;
  const rule = identificationRule(settings, people.length);
  let named = 0;
  for (const face of await facesById(context, faceIds)) {
    if (face.identity?.personId !== null || !face.embedding) continue;
    const [identity] = assignBySimilarity(embeddingSimilarities([face.embedding], people), people, rule, -1, (_, p) =>
      mayBeNamed(face, (people[p] as EnrolledPerson).personId, settings),
    );
    if (identity?.personId !== personId) continue;
    const siblings = await context.results.facesOfImage(face.imageId);
    if (siblings.some((s) => s.faceId !== face.faceId && s.identity?.personId === personId)) continue;
    if (!(await context.results.claimUnknownFace(face, identity))) continue;
    if (face.clusterId) await leaveMembership(context, clusters, memberOf(face, face.clusterId));
    // Removed meanwhile: the face goes back to being unknown (the removal's listing may have run before the claim).
    if (!(await context.results.getPerson(personId))) {
      await context.results.markUnknown({ ...face, identity }, personId);
      continue;
    }
    named++;
  }
  return named;
}

/** Puts the unknown, unclustered faces of these faces' photos into clusters. Returns how many were placed. */
export async function reclusterFaces(
  context: StorageContext,
  settings: FacepipeConfig['recognition'],
  clusters: ClusterCache,
  faceIds: readonly string[],
): Promise<number> {
  const images = new Set<string>();
  for (const faceId of faceIds) {
    const id = parseFaceId(faceId);
    if (id) images.add(id.imageId);
  }
  let placed = 0;
  for (const imageId of [...images].sort()) {
    placed += await clusterFaces(context, clusters, await context.results.facesOfImage(imageId), settings, {
      // A face may have founded a cluster before (then named, now unknown again): a fresh id.
      seed: (face) => `${face.faceId}:${randomUUID()}`,
    });
  }
  return placed;
}

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');

/** A job message as the queue delivers it (JSON), checked: anything else is refused (and dead-lettered). */
export function parseRecognitionJob(body: string): RecognitionJob {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new FacepipeError('INVALID_OPTION', 'a job message must be JSON');
  }
  const job = value as Partial<RecognitionJob> & Record<string, unknown>;
  const batch = job.batch === undefined || (Number.isInteger(job.batch) && (job.batch as number) >= 0);
  const faceIds = job.faceIds === undefined || isStringList(job.faceIds);
  if (typeof job.jobId !== 'string' || !batch || !faceIds)
    throw new FacepipeError('INVALID_OPTION', 'malformed job message');
  if (job.kind === 'rematch' && typeof job.personId === 'string') return job as RecognitionJob;
  if (job.kind === 'recluster' && isStringList(job.faceIds)) return job as RecognitionJob;
  throw new FacepipeError('INVALID_OPTION', 'a job message is a rematch (personId) or a recluster (faceIds)');
}
