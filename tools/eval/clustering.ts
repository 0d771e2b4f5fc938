import { type ClusterCentre, type ClusterMembers, joinClusters, planMerges } from '../../lib/pipeline/clustering';
import { type QualityGate, recognisable } from '../../lib/pipeline/recognition';
import type { StreamFace } from './faceStream';
import { seededRandom } from './openset';

/**
 * Clustering unknown faces, measured: a set's faces go through the pipeline's incremental clustering photo by photo
 * as an unlabelled stream (labels are used only to score), then through consolidation. Scores over the labelled
 * faces: pairwise precision and recall (pairs of faces of one person put together), BCubed precision and recall, and
 * purity (each cluster counted for its majority person); faces left out by the quality gate count as clusters of
 * their own.
 */

export interface ClusteringScores {
  labelledFaces: number;
  people: number;
  /** Clusters holding labelled faces (a face left out by the gate counts as one). */
  clusters: number;
  /** Clusters holding faces of two or more people. */
  impureClusters: number;
  pairwisePrecision: number;
  pairwiseRecall: number;
  bcubedPrecision: number;
  bcubedRecall: number;
  purity: number;
  /** Labelled faces the quality gate kept out of clustering. */
  gated: number;
}

/** Scores cluster labels against identities; `clusterOf[i]` undefined means face i was not clustered. */
export function scoreClustering(
  identities: readonly (string | undefined)[],
  clusterOf: readonly (string | undefined)[],
): ClusteringScores {
  const faces = identities.flatMap((identity, i) =>
    identity ? [{ identity, cluster: clusterOf[i] ?? `unclustered:${i}`, gated: clusterOf[i] === undefined }] : [],
  );
  const count = <K>(keys: K[]) => {
    const m = new Map<K, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const byCluster = new Map<string, Map<string, number>>();
  for (const f of faces) {
    const people = byCluster.get(f.cluster) ?? new Map<string, number>();
    people.set(f.identity, (people.get(f.identity) ?? 0) + 1);
    byCluster.set(f.cluster, people);
  }
  const personSizes = count(faces.map((f) => f.identity));
  const clusterSizes = count(faces.map((f) => f.cluster));
  const pairs = (n: number) => (n * (n - 1)) / 2;
  let together = 0;
  let bcubedP = 0;
  let bcubedR = 0;
  let majority = 0;
  let impure = 0;
  for (const [cluster, people] of byCluster) {
    for (const [person, n] of people) {
      together += pairs(n);
      bcubedP += (n * n) / (clusterSizes.get(cluster) as number);
      bcubedR += (n * n) / (personSizes.get(person) as number);
    }
    majority += Math.max(...people.values());
    if (people.size > 1) impure++;
  }
  const clusteredPairs = [...clusterSizes.values()].reduce((s, n) => s + pairs(n), 0);
  const samePersonPairs = [...personSizes.values()].reduce((s, n) => s + pairs(n), 0);
  const total = Math.max(1, faces.length);
  return {
    labelledFaces: faces.length,
    people: personSizes.size,
    clusters: byCluster.size,
    impureClusters: impure,
    pairwisePrecision: clusteredPairs > 0 ? together / clusteredPairs : 1,
    pairwiseRecall: samePersonPairs > 0 ? together / samePersonPairs : 1,
    bcubedPrecision: bcubedP / total,
    bcubedRecall: bcubedR / total,
    purity: majority / total,
    gated: faces.filter((f) => f.gated).length,
  };
}

/** The faces of a stream grouped by photo, in stream order. */
function photos(stream: readonly StreamFace[]): StreamFace[][] {
  const byFile = new Map<string, StreamFace[]>();
  for (const face of stream) byFile.set(face.file, [...(byFile.get(face.file) ?? []), face]);
  return [...byFile.values()];
}

/** The stream's photos in a seeded random order (order 0: as listed). */
export function photoOrder(stream: readonly StreamFace[], order: number): StreamFace[] {
  const list = photos(stream);
  if (order === 0) return list.flat();
  const random = seededRandom(order);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j] as StreamFace[], list[i] as StreamFace[]];
  }
  return list.flat();
}

export interface IncrementalRun {
  /** The cluster of each face of the stream (undefined: kept out by the quality gate). */
  clusterOf: (string | undefined)[];
  clusters: ClusterMembers[];
}

/** Runs the pipeline's incremental clustering over a stream, photo by photo. */
export function clusterIncrementally(
  stream: readonly StreamFace[],
  options: { threshold: number; gate: QualityGate },
): IncrementalRun {
  const centres: ClusterCentre[] = [];
  const members = new Map<string, ClusterMembers & { members: ClusterMembers['members'][number][] }>();
  const clusterOf = new Map<StreamFace, string>();
  let opened = 0;
  for (const photo of photos(stream)) {
    const clear = photo.filter((f) => recognisable(f, options.gate));
    const joined = joinClusters(
      clear.map((f) => f.embedding),
      centres,
      options.threshold,
    );
    clear.forEach((face, i) => {
      let index = joined[i];
      if (index === undefined) {
        const clusterId = `c${String(opened++).padStart(6, '0')}`;
        centres.push({ clusterId, sum: new Float32Array(face.embedding.length), size: 0 });
        members.set(clusterId, { clusterId, createdAt: clusterId, members: [] });
        index = centres.length - 1;
      }
      const centre = centres[index] as ClusterCentre;
      for (let k = 0; k < centre.sum.length; k++)
        centre.sum[k] = (centre.sum[k] as number) + (face.embedding[k] as number);
      centre.size++;
      clusterOf.set(face, centre.clusterId);
      members
        .get(centre.clusterId)
        ?.members.push({ faceId: `${face.file}#${face.index}`, imageId: face.file, embedding: face.embedding });
    });
  }
  return { clusterOf: stream.map((f) => clusterOf.get(f)), clusters: [...members.values()] };
}

/** Consolidation after an incremental run: each face's cluster once merges are applied, and how many merged. */
export function consolidateRun(
  run: IncrementalRun,
  mergeThreshold: number,
): { clusterOf: (string | undefined)[]; merges: number } {
  const merges = planMerges(run.clusters, mergeThreshold);
  const mergedInto = new Map<string, string>();
  for (const merge of merges) for (const from of merge.from) mergedInto.set(from, merge.into);
  return {
    clusterOf: run.clusterOf.map((c) => (c === undefined ? undefined : (mergedInto.get(c) ?? c))),
    merges: mergedInto.size,
  };
}
