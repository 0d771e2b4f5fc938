import { LocalPipeline } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import { OPTIONS, parseOption } from '../../lib/options';
import { consolidateClusters, liveCluster, resolveCluster } from '../../lib/pipeline/clusters';
import { splitCluster } from '../../lib/pipeline/corrections';
import { clusterView, clusterFaces as facesOfCluster } from '../../lib/pipeline/queries';
import { jsonLine, printable } from '../../lib/printable';
import { formatTable } from '../table';
import { facesTable } from './query';

/** `facepipe clusters list`: the clusters of unknown faces, most recently changed first. */
export async function listClustersCommand(
  flags: { limit?: string; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const limit = flags.limit === undefined ? undefined : parseOption(OPTIONS.limit, flags.limit, OPTIONS.limit.flag);
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const clusters = await pipeline.results.listClusters({ limit });
    if (flags.json) {
      for (const cluster of clusters) process.stdout.write(jsonLine(clusterView(cluster)));
      return 0;
    }
    const columns = [
      { header: 'cluster' },
      { header: 'faces', align: 'right' as const },
      { header: 'opened' },
      { header: 'changed' },
      { header: 'merged from' },
    ];
    const rows = clusters.map((c) => [c.clusterId, String(c.size), c.createdAt, c.updatedAt, c.aliases.join(' ')]);
    process.stdout.write(`${formatTable(columns, rows)}${clusters.length} cluster(s)\n`);
    return 0;
  } finally {
    await pipeline.close();
  }
}

/** `facepipe clusters show <id>`: one cluster and its faces (following a merge or a naming). */
export async function showClusterCommand(
  clusterId: string,
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const resolved = await resolveCluster(pipeline.storage, clusterId);
    const via = resolved.via.map((alias) =>
      alias.mergedInto ? `${alias.clusterId} was merged into ${alias.mergedInto} on ${alias.updatedAt}` : '',
    );
    if ('namedAs' in resolved) {
      const line = `cluster ${clusterId} was named as person ${resolved.namedAs}`;
      if (flags.json) process.stdout.write(jsonLine({ clusterId, namedAs: resolved.namedAs }));
      else process.stdout.write(`${[...via.filter(Boolean), printable(line)].join('\n')}\n`);
      return 0;
    }
    const faces = await facesOfCluster(pipeline.storage, resolved.cluster.clusterId);
    if (flags.json) {
      process.stdout.write(jsonLine({ ...clusterView(resolved.cluster), asked: clusterId, faces }));
      return 0;
    }
    for (const line of via.filter(Boolean)) process.stdout.write(`${line}\n`);
    const c = resolved.cluster;
    process.stdout.write(`cluster ${c.clusterId}: ${c.size} face(s), opened ${c.createdAt}, changed ${c.updatedAt}\n`);
    process.stdout.write(facesTable(faces));
    return 0;
  } finally {
    await pipeline.close();
  }
}

/** `facepipe clusters consolidate [--all]`: merges clusters that drifted together. */
export async function consolidateClustersCommand(
  flags: { all?: boolean; json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    const report = await consolidateClusters(pipeline.storage, {
      all: flags.all,
      mergeThreshold: config.recognition.clusterMergeThreshold,
    });
    if (flags.json) process.stdout.write(jsonLine(report));
    else {
      process.stdout.write(
        `looked at ${report.changed} of ${report.clusters} cluster(s) (changed since the last run${flags.all ? ': --all, every one' : ''}): ` +
          `${report.merges.length} merge(s), ${report.facesMoved} face(s) moved\n`,
      );
      for (const merge of report.merges) {
        process.stdout.write(`  ${merge.from.join(', ')} → ${merge.into} (the old ids lead there)\n`);
      }
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}

/** `facepipe clusters split <id> <faceIds...>`: those faces leave for a cluster of their own. */
export async function splitClusterCommand(
  clusterId: string,
  faceIds: string[],
  flags: { json?: boolean; dataDir: string },
  config: FacepipeConfig,
): Promise<number> {
  if (faceIds.length === 0) throw new FacepipeError('INVALID_OPTION', 'Name the faces to split off.');
  const pipeline = await LocalPipeline.open({ dataDir: flags.dataDir, config, consume: false, models: false });
  try {
    await liveCluster(pipeline.storage, clusterId);
    const result = await splitCluster(pipeline.storage, pipeline.recognition, clusterId, faceIds);
    if (flags.json) process.stdout.write(jsonLine(result));
    else {
      process.stdout.write(
        `${result.faces} face(s) of ${result.from} are cluster ${result.into} now (and never merged back into ${result.from})\n`,
      );
    }
    return 0;
  } finally {
    await pipeline.close();
  }
}
