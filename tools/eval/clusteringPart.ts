import type { FaceAnalyser } from '../../lib/vision/analyser';
import { markdownTable as table } from '../common/report';
import { type ClusteringScores, clusterIncrementally, consolidateRun, photoOrder, scoreClustering } from './clustering';
import type { StreamFace } from './faceStream';
import { thresholdGrid } from './openset';
import { evaluationStream } from './opensetPart';

/** Pairwise precision every set must keep, in every stream order, for a threshold to be chosen. */
export const MIN_PRECISION = 0.995;
const ORDERS = [0, 1, 2, 3, 4];
const GRID = thresholdGrid(0.38, 0.62, 0.01);
/**
 * Added to the lowest threshold that keeps the precision floor: precision falls off a cliff within a step or two below
 * it on these sets, and data not seen here sits somewhere else on that slope.
 */
export const HEADROOM = 0.02;

export interface ClusteringSetResult {
  set: string;
  /** Mean over the stream orders. */
  incremental: ClusteringScores;
  consolidated: ClusteringScores;
  /** The worst pairwise precision over the orders. */
  worstPrecision: number;
  merges: number;
}

export interface ClusteringReport {
  minPrecision: number;
  orders: number;
  shipped: { threshold: number; mergeThreshold: number; minFaceSize: number; minScore: number };
  /** The lowest thresholds keeping the floor, and those plus the headroom (the recommendation). */
  lowest: { threshold: number; mergeThreshold: number };
  chosen: { threshold: number; mergeThreshold: number };
  headroom: number;
  /** Per threshold, the worst pairwise precision and the mean recall over sets and orders (incremental only). */
  sweep: { threshold: number; worstPrecision: number; meanRecall: number }[];
  mergeSweep: { mergeThreshold: number; worstPrecision: number; meanRecall: number; merges: number }[];
  sets: ClusteringSetResult[];
  seconds: number;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

function meanScores(scores: readonly ClusteringScores[]): ClusteringScores {
  const keys = Object.keys(scores[0] as ClusteringScores) as (keyof ClusteringScores)[];
  return Object.fromEntries(keys.map((k) => [k, mean(scores.map((s) => s[k]))])) as unknown as ClusteringScores;
}

/** The lowest threshold from which on (scanning down from the top) the worst precision stays at the floor. */
function lowestKeeping(rows: readonly { t: number; worstPrecision: number }[]): number {
  let chosen = rows[rows.length - 1]?.t ?? 1;
  for (let i = rows.length - 1; i >= 0 && (rows[i]?.worstPrecision ?? 0) >= MIN_PRECISION; i--)
    chosen = rows[i]?.t ?? chosen;
  return chosen;
}

export async function runClustering(analyser: FaceAnalyser, dataDir: string): Promise<ClusteringReport> {
  const started = performance.now();
  const stream = await evaluationStream(analyser, dataDir, 'clustering');
  const recognition = analyser.config.recognition;
  const gate = { minFaceSize: recognition.minFaceSize, minScore: recognition.minScore };
  const devSets: [string, StreamFace[]][] = [
    ['deepface unit set', stream.filter((f) => f.set === 'deepface')],
    ['LFW fold 1', stream.filter((f) => f.set === 'lfw')],
    ['knn examples', stream.filter((f) => f.set === 'knn')],
  ];
  devSets.push(['all three as one stream', devSets.flatMap(([, faces]) => faces)]);
  /** Every set in every order, clustered incrementally at `threshold` (the merge sweep reuses one such pass). */
  const incremental = (threshold: number) =>
    devSets.map(([set, faces]) => ({
      set,
      perOrder: ORDERS.map((order) => {
        const ordered = photoOrder(faces, order);
        return { identities: ordered.map((f) => f.identity), run: clusterIncrementally(ordered, { threshold, gate }) };
      }),
    }));
  const consolidated = (passes: ReturnType<typeof incremental>, mergeThreshold: number) =>
    passes.map(({ set, perOrder }) => ({
      set,
      perOrder: perOrder.map(({ identities, run }) => {
        const merged = consolidateRun(run, mergeThreshold);
        return {
          incremental: scoreClustering(identities, run.clusterOf),
          consolidated: scoreClustering(identities, merged.clusterOf),
          merges: merged.merges,
        };
      }),
    }));
  process.stderr.write('clustering: sweeping the thresholds...\n');
  const sweep = GRID.map((threshold) => {
    const scores = incremental(threshold).flatMap((r) =>
      r.perOrder.map(({ identities, run }) => scoreClustering(identities, run.clusterOf)),
    );
    return {
      threshold,
      worstPrecision: Math.min(...scores.map((s) => s.pairwisePrecision)),
      meanRecall: mean(scores.map((s) => s.pairwiseRecall)),
    };
  });
  const lowest = lowestKeeping(sweep.map((r) => ({ t: r.threshold, worstPrecision: r.worstPrecision })));
  const threshold = Number((lowest + HEADROOM).toFixed(2));
  const atChosen = incremental(threshold);
  const mergeSweep = GRID.map((mergeThreshold) => {
    const results = consolidated(atChosen, mergeThreshold).flatMap((r) => r.perOrder);
    return {
      mergeThreshold,
      worstPrecision: Math.min(...results.map((o) => o.consolidated.pairwisePrecision)),
      meanRecall: mean(results.map((o) => o.consolidated.pairwiseRecall)),
      merges: results.reduce((n, o) => n + o.merges, 0),
    };
  });
  const lowestMerge = lowestKeeping(mergeSweep.map((r) => ({ t: r.mergeThreshold, worstPrecision: r.worstPrecision })));
  const mergeThreshold = Number((lowestMerge + HEADROOM).toFixed(2));
  const shippedPasses =
    recognition.clusterThreshold === threshold ? atChosen : incremental(recognition.clusterThreshold);
  const sets = consolidated(shippedPasses, recognition.clusterMergeThreshold).map(({ set, perOrder }) => ({
    set,
    incremental: meanScores(perOrder.map((o) => o.incremental)),
    consolidated: meanScores(perOrder.map((o) => o.consolidated)),
    worstPrecision: Math.min(...perOrder.map((o) => o.consolidated.pairwisePrecision)),
    merges: mean(perOrder.map((o) => o.merges)),
  }));
  return {
    minPrecision: MIN_PRECISION,
    orders: ORDERS.length,
    shipped: {
      threshold: recognition.clusterThreshold,
      mergeThreshold: recognition.clusterMergeThreshold,
      minFaceSize: gate.minFaceSize,
      minScore: gate.minScore,
    },
    lowest: { threshold: lowest, mergeThreshold: lowestMerge },
    chosen: { threshold, mergeThreshold },
    headroom: HEADROOM,
    sweep,
    mergeSweep,
    sets,
    seconds: (performance.now() - started) / 1000,
  };
}

const num = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

function scoreRow(set: string, stage: string, s: ClusteringScores): (string | number)[] {
  return [
    set,
    stage,
    num(s.pairwisePrecision),
    num(s.pairwiseRecall),
    num(s.bcubedPrecision),
    num(s.bcubedRecall),
    num(s.purity),
    num(s.impureClusters, 1),
    `${num(s.clusters, 1)} / ${s.people}`,
  ];
}

export function renderClustering(report: ClusteringReport): string {
  const { shipped, chosen } = report;
  const agreed =
    chosen.threshold === shipped.threshold && chosen.mergeThreshold === shipped.mergeThreshold
      ? `The shipped thresholds are the ones chosen here.`
      : `**Chosen here: cluster threshold ${chosen.threshold}, merge threshold ${chosen.mergeThreshold}; shipped: ${shipped.threshold} and ${shipped.mergeThreshold}.**`;
  return [
    '## Clustering unknown faces',
    '',
    "Each set is fed to the pipeline's clustering (lib/pipeline/clustering.ts) as an unlabelled stream, photo by " +
      `photo, in ${report.orders} orders (as listed, and 4 seeded shuffles of the photos), then consolidated. The ` +
      'labels only score it: pairwise precision and recall over the labelled faces (LFW: the centred face of each ' +
      'photo; deepface: the clustered images; knn: the one-person photos), BCubed, and purity (each cluster counted ' +
      'for its majority person). Unlabelled faces (backgrounds, two-person photos) are clustered too, not scored. Two ' +
      'people in one cluster is the worst error, so each threshold is the lowest at which the worst pairwise ' +
      `precision over every set and order stays at ${num(report.minPrecision)} or more, for it and every threshold ` +
      `above it, plus ${report.headroom} of headroom (precision falls off within a step or two below it, and unseen ` +
      'data sits elsewhere on that slope); recall is what gives.',
    '',
    `### At the shipped settings: cluster threshold ${shipped.threshold}, merge threshold ${shipped.mergeThreshold}, quality gate ${shipped.minFaceSize} px and score ${shipped.minScore}`,
    '',
    'Means over the orders (clusters: clusters holding labelled faces, against the people).',
    '',
    table(
      [
        'set',
        'stage',
        'pairwise P',
        'pairwise R',
        'BCubed P',
        'BCubed R',
        'purity',
        'impure clusters',
        'clusters / people',
      ],
      report.sets.flatMap((r) => [
        scoreRow(r.set, 'incremental', r.incremental),
        scoreRow(r.set, `consolidated (${num(r.merges, 1)} merges)`, r.consolidated),
      ]),
    ),
    '',
    agreed,
    '',
    '### Choosing the cluster threshold (incremental, no consolidation)',
    '',
    table(
      ['threshold', 'worst pairwise P', 'mean pairwise R'],
      report.sweep.map((r) => [
        `${num(r.threshold, 2)}${r.threshold === chosen.threshold ? ' **(chosen)**' : r.threshold === report.lowest.threshold ? ' (lowest keeping the floor)' : ''}`,
        num(r.worstPrecision),
        num(r.meanRecall),
      ]),
    ),
    '',
    `### Choosing the merge threshold (consolidation after incremental clustering at ${chosen.threshold})`,
    '',
    table(
      ['merge threshold', 'worst pairwise P', 'mean pairwise R', 'merges (all runs)'],
      report.mergeSweep.map((r) => [
        `${num(r.mergeThreshold, 2)}${r.mergeThreshold === chosen.mergeThreshold ? ' **(chosen)**' : r.mergeThreshold === report.lowest.mergeThreshold ? ' (lowest keeping the floor)' : ''}`,
        num(r.worstPrecision),
        num(r.meanRecall),
        r.merges,
      ]),
    ),
  ].join('\n');
}
