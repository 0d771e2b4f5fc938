import { assignBySimilarity, type EnrolledPerson } from './recognition';

/**
 * Grouping unknown faces, the pure core (no store): the pipeline (lib/pipeline/clusters.ts) and the evaluation
 * (tools/eval/clustering.ts) run the same functions.
 *
 * - Incremental: the faces of one photo join the clusters whose centroids they are most alike, at or above the
 *   cluster threshold, best pairs first and one cluster at most once per photo (two faces of one photo are two
 *   people); a face that joins none opens a new cluster. Nothing already clustered moves.
 * - Consolidation: two clusters merge when the average similarity of their faces across them (average linkage) is at
 *   or above the merge threshold, unless a photo has a face in each or a user took a face of one out of the other.
 *   Best pairs first, re-checked on the merged groups; the oldest cluster keeps its id (the one users saw first).
 *
 * Preferring to split: both thresholds were chosen where pairwise precision stays at 99.5% or more on every
 * evaluation set (reports/eval.md), so recall is what gives.
 */

export interface ClusterCentre {
  clusterId: string;
  /** Sum of the members' (unit) embeddings: the centroid's direction, and cheap to add a face to or take one from. */
  sum: Float32Array;
  size: number;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

/** Unit-length copy of a vector (the zero vector stays zero). */
export function unit(v: Float32Array): Float32Array {
  const n = Math.sqrt(dot(v, v));
  return n > 0 ? v.map((x) => x / n) : new Float32Array(v.length);
}

/** Cosine similarity of a unit embedding to a cluster's centroid. */
export function centroidSimilarity(embedding: Float32Array, centre: Pick<ClusterCentre, 'sum'>): number {
  const n = Math.sqrt(dot(centre.sum, centre.sum));
  return n > 0 ? dot(embedding, centre.sum) / n : -1;
}

/**
 * Which cluster each face of one photo joins (its index in `centres`), or undefined: open a new one. `allowed` says
 * whether face f may join cluster c at all (a face the user took out of c, a cluster already holding a face of this
 * photo).
 */
export function joinClusters(
  faces: readonly Float32Array[],
  centres: readonly ClusterCentre[],
  threshold: number,
  allowed: (face: number, cluster: number) => boolean = () => true,
): (number | undefined)[] {
  const asPeople: EnrolledPerson[] = centres.map((c) => ({
    personId: c.clusterId,
    name: c.clusterId,
    details: {},
    embeddings: [],
  }));
  const similarity = faces.map((face) => centres.map((c) => centroidSimilarity(face, c)));
  const index = new Map(centres.map((c, i) => [c.clusterId, i]));
  return assignBySimilarity(similarity, asPeople, { threshold, margin: 0 }, -1, allowed).map((identity) =>
    identity.personId === null ? undefined : index.get(identity.personId),
  );
}

/** A face as consolidation sees it: its embedding, its photo and the clusters a user took it out of. */
export interface MemberFace {
  faceId: string;
  imageId: string;
  embedding: Float32Array;
  rejectedClusters?: readonly string[];
}

export interface ClusterMembers {
  clusterId: string;
  /** ISO time the cluster was opened: the oldest of a merged group keeps its id. */
  createdAt: string;
  /** Earlier ids of this cluster (clusters merged into it): a face taken out of one of them stays out. */
  aliases?: readonly string[];
  members: readonly MemberFace[];
}

export interface PlannedMerge {
  /** The cluster that keeps its id. */
  into: string;
  /** The clusters merged into it, in the order they joined. */
  from: string[];
}

/** Sum of the members' embeddings: the mean of all pairwise dot products across two groups is the dot product of their sums over the pair count. */
function sumOf(members: readonly MemberFace[]): Float32Array {
  const sum = new Float32Array(members[0]?.embedding.length ?? 0);
  for (const m of members)
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (m.embedding[i] as number);
  return sum;
}

/** Average similarity of the faces of two groups across them (every pair once). */
export function averageLinkage(a: readonly MemberFace[], b: readonly MemberFace[]): number {
  if (a.length === 0 || b.length === 0) return -1;
  return dot(sumOf(a), sumOf(b)) / (a.length * b.length);
}

interface Group {
  clusterId: string;
  createdAt: string;
  ids: Set<string>;
  order: string[];
  sum: Float32Array;
  size: number;
  images: Set<string>;
  rejected: Set<string>;
}

function groupOf(cluster: ClusterMembers): Group {
  return {
    clusterId: cluster.clusterId,
    createdAt: cluster.createdAt,
    ids: new Set([cluster.clusterId, ...(cluster.aliases ?? [])]),
    order: [],
    sum: sumOf(cluster.members),
    size: cluster.members.length,
    images: new Set(cluster.members.map((m) => m.imageId)),
    rejected: new Set(cluster.members.flatMap((m) => m.rejectedClusters ?? [])),
  };
}

const linkage = (a: Group, b: Group) => (a.size > 0 && b.size > 0 ? dot(a.sum, b.sum) / (a.size * b.size) : -1);

/** Whether two groups may never be one: a photo with a face in each, or a face a user took out of the other group. */
function cannotLink(a: Group, b: Group): boolean {
  for (const image of a.images) if (b.images.has(image)) return true;
  for (const id of a.ids) if (b.rejected.has(id)) return true;
  for (const id of b.ids) if (a.rejected.has(id)) return true;
  return false;
}

const older = (a: Group, b: Group) =>
  a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.clusterId < b.clusterId);

/**
 * The merges consolidation would make: pairs of clusters whose average linkage is at or above `threshold`, best
 * first, each pair checked again on the groups merged so far (a merge can make a later one impossible). Only pairs
 * with at least one cluster in `changed` (default: all) are considered, so a scheduled run looks at what moved since
 * the last one. The oldest cluster of a group keeps its id (ties: the smaller id).
 */
export function planMerges(
  clusters: readonly ClusterMembers[],
  threshold: number,
  changed?: ReadonlySet<string>,
): PlannedMerge[] {
  const groups = new Map(clusters.map((c) => [c.clusterId, groupOf(c)]));
  const list = [...groups.values()];
  const candidates: { a: string; b: string; similarity: number }[] = [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as Group;
    for (let j = i + 1; j < list.length; j++) {
      const b = list[j] as Group;
      if (changed && !changed.has(a.clusterId) && !changed.has(b.clusterId)) continue;
      const similarity = linkage(a, b);
      if (similarity >= threshold) candidates.push({ a: a.clusterId, b: b.clusterId, similarity });
    }
  }
  candidates.sort((x, y) => y.similarity - x.similarity || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : 1));
  const owner = new Map(clusters.map((c) => [c.clusterId, c.clusterId]));
  const find = (id: string): string => {
    const up = owner.get(id) as string;
    return up === id ? id : find(up);
  };
  for (const { a, b } of candidates) {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) continue;
    const ga = groups.get(ra) as Group;
    const gb = groups.get(rb) as Group;
    // Re-checked on the groups as merged so far: the pair's own linkage may hold while the groups' does not.
    if (cannotLink(ga, gb) || linkage(ga, gb) < threshold) continue;
    const [keep, gone] = older(ga, gb) ? [ga, gb] : [gb, ga];
    for (const id of gone.ids) keep.ids.add(id);
    keep.order.push(gone.clusterId, ...gone.order);
    for (let i = 0; i < keep.sum.length; i++) keep.sum[i] = (keep.sum[i] as number) + (gone.sum[i] as number);
    keep.size += gone.size;
    for (const image of gone.images) keep.images.add(image);
    for (const id of gone.rejected) keep.rejected.add(id);
    owner.set(gone.clusterId, keep.clusterId);
    groups.delete(gone.clusterId);
  }
  return [...groups.values()]
    .filter((g) => g.order.length > 0)
    .map((g) => ({ into: g.clusterId, from: g.order }))
    .sort((x, y) => (x.into < y.into ? -1 : 1));
}
