import { createHash, randomUUID } from 'node:crypto';
import type { FacepipeConfig } from '../config';
import { FacepipeError } from '../errors';
import { type ClusterCentre, joinClusters, type MemberFace, planMerges, unit } from './clustering';
import { parseFaceId } from './ids';
import { recognisable } from './recognition';
import type { ClusterMember, ClusterRecord, FaceRecord } from './records';
import { nowIso, type StorageContext } from './stages/context';

/**
 * Clusters of unknown faces, in the store: stable ids, incremental joins from the recognise stage, leaving (a face
 * named, rejected or erased), and consolidation. The decisions themselves are the pure core's (clustering.ts).
 *
 * Writes: a face joins by (1) adding its member item (idempotent), (2) if it was new, adding its embedding to the
 * cluster's sum (conditional on the cluster's revision, retried), (3) recording the cluster on the face (conditional on
 * the face still being unknown and showing the same crop). A face named or erased between (1) and (3) is taken out
 * again. A crash between (1) and (2) leaves the sum one face short until consolidation recomputes it from the members.
 */

export const CLUSTER_ID = /^c[0-9a-f]{15}$/;

/**
 * A cluster id from a seed (the founding face's crop key on first clustering: a re-delivery opens the same cluster,
 * and a face of a replaced photo, which keeps the face id of the one it replaces, opens another).
 */
export function clusterIdOf(seed: string): string {
  return `c${createHash('sha256').update(seed).digest('hex').slice(0, 15)}`;
}

export function validateClusterId(clusterId: string): string {
  if (!CLUSTER_ID.test(clusterId)) {
    throw new FacepipeError(
      'INVALID_OPTION',
      'A cluster id is "c" and 15 hexadecimal characters (the clusterId of a query result).',
    );
  }
  return clusterId;
}

/** Attempts at a cluster write when other writes keep getting there first. */
const MAX_WRITE_ATTEMPTS = 20;
/** Clusters changed this long before the last refresh are read again (writers' clocks differ a little). */
const CLOCK_SKEW_MS = 5_000;

const isAlias = (cluster: ClusterRecord) => cluster.mergedInto !== undefined || cluster.namedAs !== undefined;

/**
 * The clusters, kept per process: read whole at first, then only what changed since (at most once per `maxAgeMs`),
 * and whole again every `fullReloadMs` (clusters deleted elsewhere drop out then; a join to one fails its condition
 * and picks again meanwhile). Its own writes update it at once.
 */
export class ClusterCache {
  private clusters = new Map<string, ClusterRecord>();
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private fullAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly results: Pick<StorageContext['results'], 'clustersChangedSince'>,
    private readonly options: { maxAgeMs?: number; fullReloadMs?: number; now?: () => number } = {},
  ) {}

  /** Live clusters (aliases left out). */
  async current(): Promise<ClusterRecord[]> {
    await this.fresh();
    return [...this.clusters.values()].filter((c) => !isAlias(c));
  }

  /** What this process just wrote (or found deleted: undefined). */
  note(clusterId: string, cluster: ClusterRecord | undefined): void {
    if (cluster) this.clusters.set(clusterId, cluster);
    else this.clusters.delete(clusterId);
  }

  private fresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const now = (this.options.now ?? Date.now)();
    if (now - this.refreshedAt < (this.options.maxAgeMs ?? 1000)) return Promise.resolve();
    const full = now - this.fullAt >= (this.options.fullReloadMs ?? 600_000);
    const since = full ? undefined : new Date(this.refreshedAt - CLOCK_SKEW_MS).toISOString();
    this.refreshing = this.results
      .clustersChangedSince(since)
      .then((changed) => {
        if (full) this.clusters = new Map();
        for (const cluster of changed) this.clusters.set(cluster.clusterId, cluster);
        this.refreshedAt = now;
        if (full) this.fullAt = now;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}

const centreOf = (cluster: ClusterRecord): ClusterCentre => ({
  clusterId: cluster.clusterId,
  sum: cluster.sum,
  size: cluster.size,
});

/** Whether a face may join a cluster: not one it was taken out of (by any of the cluster's names). */
function mayJoin(face: Pick<FaceRecord, 'rejectedClusters'>, cluster: ClusterRecord): boolean {
  const rejected = face.rejectedClusters ?? [];
  return !rejected.includes(cluster.clusterId) && !cluster.aliases.some((alias) => rejected.includes(alias));
}

export const memberOf = (face: FaceRecord, clusterId: string): ClusterMember => ({
  clusterId,
  faceId: face.faceId,
  imageId: face.imageId,
  index: face.index,
  detectedAt: face.detectedAt,
  embedding: face.embedding as Float32Array,
  ...(face.rejectedClusters?.length ? { rejectedClusters: face.rejectedClusters } : {}),
});

/** The settings clustering reads (`config.recognition`). */
export type ClusterSettings = FacepipeConfig['recognition'];

/** Whether a face is to be clustered at all: unknown, described, clear enough, not in a cluster yet. */
export function clusterable(face: FaceRecord, gate: ClusterSettings): boolean {
  return (
    face.identity?.personId === null && face.embedding !== undefined && !face.clusterId && recognisable(face, gate)
  );
}

/**
 * Places the unknown faces of one photo in clusters (the recognise stage, once the photo's identities are decided;
 * and faces that became unknown again). Each joins the cluster it is most alike at or above the cluster threshold, one
 * cluster at most once per photo (also counting the photo's faces already clustered), or opens a new one. Returns how
 * many were placed.
 */
export async function clusterFaces(
  context: StorageContext,
  cache: ClusterCache,
  photo: readonly FaceRecord[],
  config: ClusterSettings,
  options: { seed?: (face: FaceRecord) => string } = {},
): Promise<number> {
  const faces = photo.filter((f) => clusterable(f, config));
  if (faces.length === 0) return 0;
  const taken = new Set(photo.flatMap((f) => (f.clusterId ? [f.clusterId] : [])));
  const clusters = await cache.current();
  const joined = joinClusters(
    faces.map((f) => f.embedding as Float32Array),
    clusters.map(centreOf),
    config.clusterThreshold,
    (f, c) => {
      const cluster = clusters[c] as ClusterRecord;
      return !taken.has(cluster.clusterId) && mayJoin(faces[f] as FaceRecord, cluster);
    },
  );
  let placed = 0;
  for (const [i, face] of faces.entries()) {
    const target = joined[i] === undefined ? undefined : clusters[joined[i] as number];
    const clusterId =
      (target && (await joinCluster(context, cache, face, target.clusterId))) ||
      (await openCluster(context, cache, face, options.seed?.(face) ?? face.crop.key));
    if (clusterId) {
      taken.add(clusterId);
      placed++;
    }
  }
  return placed;
}

/**
 * Adds an embedding to a cluster's sum (or takes one out, `sign` -1), conditional on its revision and retried; the
 * cluster is deleted with its aliases when its last face leaves. Undefined when the cluster is gone or an alias.
 */
async function adjustCluster(
  context: StorageContext,
  cache: ClusterCache | undefined,
  clusterId: string,
  embedding: Float32Array,
  sign: 1 | -1,
): Promise<ClusterRecord | undefined> {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const cluster = await context.results.getCluster(clusterId);
    if (!cluster || isAlias(cluster)) {
      cache?.note(clusterId, cluster);
      return undefined;
    }
    const size = cluster.size + sign;
    if (size <= 0) {
      if (await context.results.deleteCluster(clusterId, cluster.revision)) {
        await deleteAliases(context, cluster);
        cache?.note(clusterId, undefined);
        return undefined;
      }
      continue;
    }
    const sum = cluster.sum.map((v, i) => v + sign * (embedding[i] as number));
    const next: ClusterRecord = { ...cluster, sum, size, revision: randomUUID(), updatedAt: nowIso(context) };
    if (await context.results.putCluster(next, cluster.revision)) {
      cache?.note(clusterId, next);
      return next;
    }
  }
  throw new FacepipeError('CONFLICT', `Cluster ${clusterId} kept changing; the face will be placed on a retry.`);
}

async function deleteAliases(context: StorageContext, cluster: ClusterRecord): Promise<void> {
  for (const alias of cluster.aliases) {
    const record = await context.results.getCluster(alias);
    if (record?.mergedInto === cluster.clusterId) await context.results.deleteCluster(alias, record.revision);
  }
}

/** Joins a face to a cluster; the cluster's id, or undefined when it is gone (the caller opens one instead). */
async function joinCluster(
  context: StorageContext,
  cache: ClusterCache,
  face: FaceRecord,
  clusterId: string,
): Promise<string | undefined> {
  const member = memberOf(face, clusterId);
  if (await context.results.addClusterMember(member)) {
    if (!(await adjustCluster(context, cache, clusterId, member.embedding, 1))) {
      await context.results.removeClusterMember(member);
      return undefined;
    }
  }
  // Placed elsewhere or gone meanwhile: either way not to be placed again here.
  await recordCluster(context, cache, face, member);
  return clusterId;
}

/**
 * Records the cluster on the face, then reads the face again: an erasure deletes the record before it takes the
 * face out of its cluster, so either it saw this cluster, or this finds the face gone and takes it out itself.
 * False (the membership undone) when the face was named, erased or placed elsewhere meanwhile.
 */
async function recordCluster(
  context: StorageContext,
  cache: ClusterCache,
  face: FaceRecord,
  member: ClusterMember,
): Promise<boolean> {
  const recorded = await context.results.setFaceCluster(face, member.clusterId);
  const now = recorded ? await context.results.getFace(face.imageId, face.index) : undefined;
  if (recorded && now?.crop.key === face.crop.key && now.clusterId === member.clusterId) return true;
  await leaveMembership(context, cache, member);
  return false;
}

/** Opens a cluster with one face. */
async function openCluster(
  context: StorageContext,
  cache: ClusterCache,
  face: FaceRecord,
  seed: string,
): Promise<string | undefined> {
  const clusterId = clusterIdOf(seed);
  const at = nowIso(context);
  const cluster: ClusterRecord = {
    clusterId,
    revision: randomUUID(),
    sum: Float32Array.from(face.embedding as Float32Array),
    size: 1,
    createdAt: at,
    updatedAt: at,
    aliases: [],
  };
  const created = await context.results.putCluster(cluster, undefined);
  if (created) cache.note(clusterId, cluster);
  const member = memberOf(face, clusterId);
  const added = await context.results.addClusterMember(member);
  if (!created && added) {
    // The id was there already (a re-delivery opened it and crashed, or an older cluster): join it instead.
    if (!(await adjustCluster(context, cache, clusterId, member.embedding, 1))) {
      await context.results.removeClusterMember(member);
      return openCluster(context, cache, face, `${seed}:${randomUUID()}`);
    }
  }
  return (await recordCluster(context, cache, face, member)) ? clusterId : undefined;
}

export async function leaveMembership(
  context: StorageContext,
  cache: ClusterCache | undefined,
  member: ClusterMember,
): Promise<void> {
  if (await context.results.removeClusterMember(member)) {
    await adjustCluster(context, cache, member.clusterId, member.embedding, -1);
  }
}

/**
 * Takes a face out of its cluster (it was named, rejected from the cluster, or is being erased): its member item
 * goes, its embedding leaves the cluster's sum (an emptied cluster is deleted), and the face record forgets it unless
 * `record: false` (the record is being deleted anyway).
 */
export async function leaveCluster(
  context: StorageContext,
  face: FaceRecord,
  options: { cache?: ClusterCache; record?: boolean } = {},
): Promise<void> {
  if (!face.clusterId) return;
  if (face.embedding) await leaveMembership(context, options.cache, memberOf(face, face.clusterId));
  else
    await context.results.removeClusterMember({
      clusterId: face.clusterId,
      faceId: face.faceId,
      detectedAt: face.detectedAt,
    });
  if (options.record !== false) await context.results.setFaceCluster(face, null);
}

/** A cluster by an id a user gave, following aliases: the cluster now, with the aliases walked to reach it. */
export async function resolveCluster(
  context: StorageContext,
  clusterId: string,
): Promise<{ cluster: ClusterRecord; via: ClusterRecord[] } | { namedAs: string; via: ClusterRecord[] }> {
  const via: ClusterRecord[] = [];
  let id = validateClusterId(clusterId);
  for (let hops = 0; hops < 50; hops++) {
    const cluster = await context.results.getCluster(id);
    if (!cluster) {
      throw new FacepipeError(
        'NOT_FOUND',
        `No cluster "${id}": its faces were named, erased or merged away (a cluster with no face left is deleted).`,
      );
    }
    if (cluster.namedAs) return { namedAs: cluster.namedAs, via: [...via, cluster] };
    if (!cluster.mergedInto) return { cluster, via };
    via.push(cluster);
    id = cluster.mergedInto;
  }
  throw new FacepipeError('INTERNAL', `Cluster ${clusterId} leads to a loop of aliases.`);
}

/** A live cluster by id (following merges), or NOT_FOUND saying what became of it. */
export async function liveCluster(context: StorageContext, clusterId: string): Promise<ClusterRecord> {
  const resolved = await resolveCluster(context, clusterId);
  if ('namedAs' in resolved) {
    throw new FacepipeError('NOT_FOUND', `Cluster "${clusterId}" was named as person "${resolved.namedAs}".`);
  }
  return resolved.cluster;
}

/** The face records of cluster members (a member whose face is gone is skipped). */
export async function memberFaces(context: StorageContext, members: readonly ClusterMember[]): Promise<FaceRecord[]> {
  const faces: FaceRecord[] = [];
  for (const member of members) {
    const face = await context.results.getFace(member.imageId, member.index);
    if (face && face.faceId === member.faceId) faces.push(face);
  }
  return faces;
}

export interface ConsolidationReport {
  /** Live clusters looked at, and how many of them changed since the last run. */
  clusters: number;
  changed: number;
  merges: { into: string; from: string[] }[];
  /** Faces that moved into the cluster they were merged into. */
  facesMoved: number;
  /** When this run started: the next run looks at what changed after it. */
  at: string;
}

/**
 * Consolidation: merges clusters that drifted together (average linkage at or above the merge threshold, never across
 * a photo or a user's rejection, the oldest id kept; the merged ones stay as aliases), and recomputes each touched
 * cluster's sum from its members. Only pairs touching a cluster changed since the last run are looked at, unless
 * `all`. Safe to run again after a crash: a merge half done is finished by the next run (its faces still point at the
 * alias's target through the members moved so far, and the rest are moved then).
 */
export async function consolidateClusters(
  context: StorageContext,
  options: { all?: boolean; mergeThreshold: number },
): Promise<ConsolidationReport> {
  const at = nowIso(context);
  const since = options.all ? undefined : await context.results.lastConsolidation();
  const clusters = await context.results.listClusters();
  const changed = clusters.filter((c) => since === undefined || c.updatedAt > since);
  const changedIds = new Set(changed.map((c) => c.clusterId));
  // Candidate pairs from the sums alone (the same linkage), then members only for the clusters in one.
  const involved = new Set<string>();
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
  for (const a of changed) {
    for (const b of clusters) {
      if (a.clusterId === b.clusterId) continue;
      if (dot(a.sum, b.sum) / (a.size * b.size) >= options.mergeThreshold) {
        involved.add(a.clusterId);
        involved.add(b.clusterId);
      }
    }
  }
  const byId = new Map(clusters.map((c) => [c.clusterId, c]));
  const withMembers = [];
  for (const id of [...involved].sort()) {
    const cluster = byId.get(id) as ClusterRecord;
    const members = await context.results.clusterMembers(id);
    withMembers.push({
      clusterId: id,
      createdAt: cluster.createdAt,
      aliases: cluster.aliases,
      members: members.map(
        (m): MemberFace => ({
          faceId: m.faceId,
          imageId: m.imageId,
          embedding: m.embedding,
          rejectedClusters: m.rejectedClusters,
        }),
      ),
    });
  }
  const merges = planMerges(withMembers, options.mergeThreshold, changedIds);
  let facesMoved = 0;
  for (const merge of merges) facesMoved += await applyMerge(context, merge.into, merge.from, at);
  await context.results.setLastConsolidation(at);
  return { clusters: clusters.length, changed: changed.length, merges, facesMoved, at };
}

/** Moves every face of `from` into `into`, leaves each of `from` as an alias, and recomputes `into`'s sum. */
async function applyMerge(context: StorageContext, into: string, from: readonly string[], at: string): Promise<number> {
  let moved = 0;
  const absorbed: string[] = [];
  for (const id of from) {
    const source = await context.results.getCluster(id);
    if (!source || isAlias(source)) continue;
    for (const member of await context.results.clusterMembers(id)) {
      const id2 = parseFaceId(member.faceId);
      const face = id2 && (await context.results.getFace(id2.imageId, id2.index));
      await context.results.addClusterMember({ ...member, clusterId: into });
      if (face?.clusterId === id) await context.results.setFaceCluster(face, into, { from: id });
      await context.results.removeClusterMember(member);
      moved++;
    }
    const alias: ClusterRecord = {
      ...source,
      revision: randomUUID(),
      sum: new Float32Array(source.sum.length),
      size: 0,
      mergedInto: into,
      updatedAt: at,
      aliases: [],
    };
    await context.results.putCluster(alias, source.revision);
    absorbed.push(id, ...source.aliases);
    // Its own aliases now lead through it; pointing them straight at the target keeps every hop one.
    for (const older of source.aliases) {
      const record = await context.results.getCluster(older);
      if (record?.mergedInto === id) {
        await context.results.putCluster(
          { ...record, mergedInto: into, revision: randomUUID(), updatedAt: at },
          record.revision,
        );
      }
    }
  }
  await recomputeCluster(context, into, absorbed, at);
  return moved;
}

/** Sets a cluster's sum and size from its members (repairing a sum a crash left short), adding aliases. */
async function recomputeCluster(context: StorageContext, clusterId: string, newAliases: string[], at: string) {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const cluster = await context.results.getCluster(clusterId);
    if (!cluster || isAlias(cluster)) return;
    const members = await context.results.clusterMembers(clusterId);
    const sum = new Float32Array(cluster.sum.length);
    for (const m of members)
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (m.embedding[i] as number);
    const next: ClusterRecord = {
      ...cluster,
      sum,
      size: members.length,
      aliases: [...new Set([...cluster.aliases, ...newAliases])],
      revision: randomUUID(),
      updatedAt: at,
    };
    if (await context.results.putCluster(next, cluster.revision)) return;
  }
}

/** The centroid direction of a cluster (for naming: which faces are most typical of it). */
export function centroidOf(cluster: Pick<ClusterRecord, 'sum'>): Float32Array {
  return unit(cluster.sum);
}
