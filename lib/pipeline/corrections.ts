import { randomUUID } from 'node:crypto';
import type { FacepipeConfig } from '../config';
import { FacepipeError } from '../errors';
import { cosineSimilarity } from '../vision/analysers/embedder';
import {
  type ClusterCache,
  centroidOf,
  clusterFaces,
  clusterIdOf,
  leaveCluster,
  leaveMembership,
  liveCluster,
  memberFaces,
  memberOf,
} from './clusters';
import { removePerson } from './erasure';
import { parseFaceId } from './ids';
import { dropGalleryFaces, embeddingFacesOf, updatePerson, validateDetails, validatePersonId } from './people';
import type { ClusterRecord, FaceRecord, JobRecord, PersonRecord } from './records';
import { type JobSender, reclusterFaces, startJob } from './rematch';
import { nowIso, type StorageContext } from './stages/context';

/**
 * What users correct: "not this person" (a rejection every later assignment, re-match and merge honours), a face
 * moved to a person, two people merged, a cluster split, a cluster named as a person. Each writes the negative
 * constraint or the new identity first, then moves what follows (clusters, galleries), so a crash midway leaves the
 * user's decision in place and at worst a face to be placed again.
 */

/** What the corrections need besides the stores: the recognition settings, the cluster cache, where jobs go. */
export interface Recognition {
  settings: FacepipeConfig['recognition'];
  clusters: ClusterCache;
  send: JobSender;
}

/** At most this many of a cluster's faces join a person's gallery when the cluster is named. */
export const GALLERY_FROM_CLUSTER = 5;

export async function faceById(context: StorageContext, faceId: string): Promise<FaceRecord> {
  const id = parseFaceId(faceId);
  const face = id && (await context.results.getFace(id.imageId, id.index));
  if (!face || face.faceId !== faceId) throw new FacepipeError('NOT_FOUND', `No face with id "${faceId}".`);
  return face;
}

async function personById(context: StorageContext, personId: string): Promise<PersonRecord> {
  const person = await context.results.getPerson(validatePersonId(personId));
  if (!person) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
  return person;
}

const bestSimilarity = (face: FaceRecord, embeddings: readonly Float32Array[]) =>
  round(
    face.embedding ? Math.max(-1, ...embeddings.map((e) => cosineSimilarity(face.embedding as Float32Array, e))) : 0,
  );
const round = (v: number) => Math.round(v * 10000) / 10000;

export interface RejectionResult {
  faceId: string;
  /** What the face is now said not to be. */
  notPerson?: string;
  notCluster?: string;
  /** The cluster it is in now (it went back into clustering), or null. */
  cluster: string | null;
}

/**
 * "Not this person": with a person (or the one the face is named as), the face is not them from now on: it becomes
 * unknown if it was theirs, its embedding leaves their gallery if it was there, and it goes back into clustering.
 * Without, an unknown face in a cluster is taken out of it for good and placed again (another cluster or a new one).
 */
export async function rejectFace(
  context: StorageContext,
  recognition: Recognition,
  faceId: string,
  personId?: string,
): Promise<RejectionResult> {
  const face = await faceById(context, faceId);
  const target = personId === undefined ? (face.identity?.personId ?? undefined) : validatePersonId(personId);
  if (target) {
    await context.results.addRejection(face, { personId: target });
    if (face.identity?.personId === target) {
      await context.results.markUnknown(face, target);
      await dropGalleryFaces(context, target, [face.faceId]);
    }
    await reclusterFaces(context, recognition.settings, recognition.clusters, [face.faceId]);
    return { faceId, notPerson: target, cluster: (await faceById(context, faceId)).clusterId ?? null };
  }
  if (!face.clusterId) {
    throw new FacepipeError(
      'INVALID_OPTION',
      `Face "${faceId}" is neither named nor in a cluster: say which person it is not (--person / person).`,
    );
  }
  const from = face.clusterId;
  await context.results.addRejection(face, { clusterId: from });
  await leaveCluster(context, face, { cache: recognition.clusters });
  await clusterFaces(
    context,
    recognition.clusters,
    await context.results.facesOfImage(face.imageId),
    recognition.settings,
    { seed: (f) => `${f.faceId}:${randomUUID()}` },
  );
  return { faceId, notCluster: from, cluster: (await faceById(context, faceId)).clusterId ?? null };
}

/** Moves a face to a person (the user knows better): any rejection of them for it goes, it leaves its cluster. */
export async function moveFace(
  context: StorageContext,
  recognition: Recognition,
  faceId: string,
  personId: string,
): Promise<{ faceId: string; personId: string; from: string | null }> {
  const face = await faceById(context, faceId);
  const person = await personById(context, personId);
  const siblings = await context.results.facesOfImage(face.imageId);
  const other = siblings.find((s) => s.faceId !== faceId && s.identity?.personId === person.personId);
  if (other) {
    throw new FacepipeError(
      'CONFLICT',
      `Face "${other.faceId}" of the same photo is "${person.personId}" already: reject it first (one person appears once in a photo).`,
    );
  }
  if (face.rejectedPeople?.includes(person.personId)) await context.results.removeRejection(face, person.personId);
  const from = face.identity?.personId ?? null;
  const moved = await context.results.setIdentity(face, face.crop.key, {
    personId: person.personId,
    similarity: bestSimilarity(face, person.embeddings),
  });
  if (!moved) throw new FacepipeError('CONFLICT', `Face "${faceId}" changed meanwhile; try again.`);
  if (face.clusterId) await leaveCluster(context, face, { cache: recognition.clusters });
  if (from && from !== person.personId) await dropGalleryFaces(context, from, [faceId]);
  return { faceId, personId: person.personId, from };
}

export interface MergeResult {
  into: string;
  from: string;
  facesMoved: number;
  /** Faces of `from` a user had said are not `into`: unknown now, back in clustering. */
  facesUnknown: number;
  embeddings: number;
}

/**
 * Merges two people (one person enrolled twice): `from`'s gallery, enrolment photos and named clusters join
 * `into`'s, `from`'s faces become `into`'s (except those a user said are not `into`: unknown), a face said not to be
 * `from` is now also not `into`, and `from` is removed.
 */
export async function mergePeople(
  context: StorageContext,
  recognition: Recognition,
  fromId: string,
  intoId: string,
): Promise<MergeResult> {
  const from = await personById(context, fromId);
  const into = await personById(context, intoId);
  if (from.personId === into.personId)
    throw new FacepipeError('INVALID_OPTION', 'A person cannot be merged into themselves.');
  const merged = await updatePerson(context, into.personId, (now) => ({
    ...now,
    embeddings: [...now.embeddings, ...from.embeddings],
    embeddingFaces: [...embeddingFacesOf(now), ...embeddingFacesOf(from)],
    photos: [...now.photos, ...from.photos],
    fromClusters: [...(now.fromClusters ?? []), ...(from.fromClusters ?? [])],
  }));
  if (!merged) throw new FacepipeError('NOT_FOUND', `No person with id "${intoId}".`);
  for (const faceId of await context.results.facesRejecting(from.personId)) {
    const id = parseFaceId(faceId);
    const face = id && (await context.results.getFace(id.imageId, id.index));
    if (face) await context.results.addRejection(face, { personId: into.personId });
  }
  let facesMoved = 0;
  const unknown: FaceRecord[] = [];
  for (const face of await context.results.facesOfPerson(from.personId)) {
    if (face.rejectedPeople?.includes(into.personId)) {
      await context.results.markUnknown(face, from.personId);
      unknown.push(face);
    } else if (
      await context.results.setIdentity(face, face.crop.key, {
        personId: into.personId,
        similarity: face.identity?.similarity ?? 0,
      })
    ) {
      facesMoved++;
    }
  }
  // Aliases of clusters named as `from` now lead to `into`.
  for (const clusterId of from.fromClusters ?? []) {
    const alias = await context.results.getCluster(clusterId);
    if (alias?.namedAs === from.personId) {
      await context.results.putCluster(
        { ...alias, namedAs: into.personId, revision: randomUUID(), updatedAt: nowIso(context) },
        alias.revision,
      );
    }
  }
  await updatePerson(context, from.personId, (now) => ({ ...now, fromClusters: [] }));
  await removePerson(context, from.personId);
  await reclusterFaces(
    context,
    recognition.settings,
    recognition.clusters,
    unknown.map((f) => f.faceId),
  );
  return {
    into: into.personId,
    from: from.personId,
    facesMoved,
    facesUnknown: unknown.length,
    embeddings: from.embeddings.length,
  };
}

/**
 * Splits a cluster: the given faces leave it for a new cluster of their own, and each is said not to belong to the
 * old one, so consolidation never merges them back.
 */
export async function splitCluster(
  context: StorageContext,
  recognition: Recognition,
  clusterId: string,
  faceIds: readonly string[],
): Promise<{ from: string; into: string; faces: number }> {
  const cluster = await liveCluster(context, clusterId);
  const members = await context.results.clusterMembers(cluster.clusterId);
  const ids = new Set(faceIds);
  const leaving = members.filter((m) => ids.has(m.faceId));
  const strangers = [...ids].filter((id) => !members.some((m) => m.faceId === id));
  if (strangers.length > 0) {
    throw new FacepipeError('INVALID_OPTION', `Not faces of cluster ${cluster.clusterId}: ${strangers.join(', ')}.`);
  }
  if (leaving.length === 0 || leaving.length === members.length) {
    throw new FacepipeError('INVALID_OPTION', 'Name some, not all, of the cluster’s faces to split off.');
  }
  const faces = await memberFaces(context, leaving);
  for (const face of faces) {
    await context.results.addRejection(face, { clusterId: cluster.clusterId });
    await leaveCluster(context, face, { cache: recognition.clusters });
  }
  const into = clusterIdOf(`split:${cluster.clusterId}:${randomUUID()}`);
  const at = nowIso(context);
  const sum = new Float32Array(cluster.sum.length);
  const placed: FaceRecord[] = [];
  for (const face of faces) {
    if (!face.embedding) continue;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (face.embedding[i] as number);
    placed.push({
      ...face,
      clusterId: undefined,
      rejectedClusters: [...(face.rejectedClusters ?? []), cluster.clusterId],
    });
  }
  const created: ClusterRecord = {
    clusterId: into,
    revision: randomUUID(),
    sum,
    size: placed.length,
    createdAt: at,
    updatedAt: at,
    aliases: [],
  };
  await context.results.putCluster(created, undefined);
  recognition.clusters.note(into, created);
  for (const face of placed) {
    await context.results.addClusterMember(memberOf(face, into));
    await context.results.setFaceCluster(face, into);
  }
  return { from: cluster.clusterId, into, faces: placed.length };
}

export interface NamedCluster {
  person: PersonRecord;
  cluster: string;
  /** Faces of the cluster now named as the person. */
  named: number;
  /** Faces left in the cluster: a user said they are not the person, or the person is in their photo already. */
  left: number;
  /** Embeddings added to the person's gallery (the cluster's most typical faces). */
  galleryAdded: number;
  /** The re-match of other unknown faces against the new gallery. */
  job: JobRecord;
}

/**
 * Turns a cluster into a person (`people add <id> --from-cluster C`): the cluster's faces become the person's, and
 * the `GALLERY_FROM_CLUSTER` faces nearest the cluster's centroid (the most typical: an odd face never enters the
 * gallery) join the person's gallery, each remembered as copied from its face. A new person needs a name. The cluster
 * id stays as an alias saying whom it was named as; then every other unknown face is re-matched against the person.
 */
export async function nameCluster(
  context: StorageContext,
  recognition: Recognition,
  naming: { personId: string; clusterId: string; name?: string; details?: Record<string, unknown> },
): Promise<NamedCluster> {
  const personId = validatePersonId(naming.personId);
  const details = naming.details === undefined ? undefined : validateDetails(naming.details);
  const cluster = await liveCluster(context, naming.clusterId);
  const existing = await context.results.getPerson(personId);
  if (!existing && !naming.name) {
    throw new FacepipeError('INVALID_OPTION', `A new person needs a name (--name) for "${personId}".`);
  }
  const members = await context.results.clusterMembers(cluster.clusterId);
  const faces = (await memberFaces(context, members)).filter(
    (f) => f.identity?.personId === null && f.clusterId === cluster.clusterId && f.embedding,
  );
  const eligible = faces.filter((f) => !f.rejectedPeople?.includes(personId));
  const centroid = centroidOf(cluster);
  const typical = [...eligible]
    .sort(
      (a, b) =>
        cosineSimilarity(b.embedding as Float32Array, centroid) -
        cosineSimilarity(a.embedding as Float32Array, centroid),
    )
    .slice(0, GALLERY_FROM_CLUSTER);
  const at = nowIso(context);
  const additions = {
    embeddings: typical.map((f) => f.embedding as Float32Array),
    faces: typical.map((f) => f.faceId),
  };
  let person: PersonRecord | undefined;
  if (existing) {
    person = await updatePerson(context, personId, (now) => ({
      ...now,
      ...(naming.name ? { name: naming.name } : {}),
      ...(details ? { details } : {}),
      embeddings: [...now.embeddings, ...additions.embeddings],
      embeddingFaces: [...embeddingFacesOf(now), ...additions.faces],
      fromClusters: [...new Set([...(now.fromClusters ?? []), cluster.clusterId, ...cluster.aliases])],
    }));
  } else {
    const created: PersonRecord = {
      personId,
      revision: randomUUID(),
      name: naming.name as string,
      details: details ?? {},
      embeddings: additions.embeddings,
      embeddingFaces: additions.faces,
      photos: [],
      fromClusters: [cluster.clusterId, ...cluster.aliases],
      createdAt: at,
      updatedAt: at,
    };
    person = (await context.results.putPerson(created, undefined)) ? created : undefined;
  }
  if (!person) throw new FacepipeError('CONFLICT', `Person "${personId}" changed meanwhile; try again.`);
  let named = 0;
  for (const face of eligible) {
    const siblings = await context.results.facesOfImage(face.imageId);
    if (siblings.some((s) => s.faceId !== face.faceId && s.identity?.personId === personId)) continue;
    const similarity = round(cosineSimilarity(face.embedding as Float32Array, centroid));
    if (!(await context.results.claimUnknownFace(face, { personId, similarity }))) continue;
    await leaveMembership(context, recognition.clusters, memberOf(face, cluster.clusterId));
    named++;
  }
  // The id (and any id merged into it) now says whom it was named as, if no face is left in it.
  if (!(await context.results.getCluster(cluster.clusterId))) {
    for (const id of [cluster.clusterId, ...cluster.aliases]) {
      const old = await context.results.getCluster(id);
      const alias: ClusterRecord = {
        clusterId: id,
        revision: randomUUID(),
        sum: new Float32Array(cluster.sum.length),
        size: 0,
        createdAt: old?.createdAt ?? cluster.createdAt,
        updatedAt: nowIso(context),
        aliases: [],
        namedAs: personId,
      };
      await context.results.putCluster(alias, old?.revision);
    }
  }
  const job = await startJob(context, recognition.send, { kind: 'rematch', personId });
  return { person, cluster: cluster.clusterId, named, left: faces.length - named, galleryAdded: typical.length, job };
}
