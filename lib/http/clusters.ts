import { FacepipeError } from '../errors';
import { liveCluster, resolveCluster, validateClusterId } from '../pipeline/clusters';
import { splitCluster } from '../pipeline/corrections';
import { cursorPosition, nextCursor } from '../pipeline/cursor';
import { clusterFaces, clusterView } from '../pipeline/queries';
import type { ClusterRecord } from '../pipeline/records';
import { jsonObjectBody } from './enrolmentBody';
import { recognitionOf } from './recognition';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly, pageSize, timeRange } from './validation';

const CLUSTERS_LISTING = 'clusters';
const clusterPosition = (c: ClusterRecord) => ({ at: c.updatedAt, id: c.clusterId });

/** GET /clusters?limit&next: clusters of unknown faces, most recently changed first. */
export const getClusters: RouteHandler = async ({ storage }, { request: { query }, limits }) => {
  allowOnly(query, ['limit', 'next']);
  const range = { limit: pageSize(query.limit, limits), after: cursorPosition(query.next, CLUSTERS_LISTING, 'next') };
  const clusters = await storage.results.listClusters(range);
  const next = nextCursor(CLUSTERS_LISTING, clusters, range.limit, clusterPosition);
  return json(200, { clusters: clusters.map(clusterView), next: next ?? null });
};

/**
 * GET /clusters/{clusterId}?limit: a cluster and its newest faces. An id merged into another answers with that one
 * (`mergedInto` says so); an id named as a person says whom (`namedAs`).
 */
export const getCluster: RouteHandler = async ({ storage }, { request: { query }, parameters, limits }) => {
  allowOnly(query, ['limit']);
  const asked = validateClusterId(parameters.clusterId ?? '');
  const resolved = await resolveCluster(storage, asked);
  const via = resolved.via.map((a) => ({ clusterId: a.clusterId, mergedInto: a.mergedInto ?? null, at: a.updatedAt }));
  if ('namedAs' in resolved) return json(200, { clusterId: asked, namedAs: resolved.namedAs, via });
  const faces = await clusterFaces(storage, resolved.cluster.clusterId, { limit: pageSize(query.limit, limits) });
  return json(200, { ...clusterView(resolved.cluster), asked, via, faces });
};

/** POST /clusters/{clusterId}/split {"faces": ["<faceId>", ...]}: those faces leave for a cluster of their own. */
export const postSplit: RouteHandler = async (context, { request, parameters, limits }) => {
  allowOnly(request.query, []);
  const clusterId = validateClusterId(parameters.clusterId ?? '');
  const body = jsonObjectBody(request, limits, ['faces']);
  const faces = body.faces;
  if (
    !Array.isArray(faces) ||
    faces.length === 0 ||
    faces.length > limits.maxPageSize ||
    !faces.every((f) => typeof f === 'string')
  ) {
    throw new FacepipeError('INVALID_OPTION', `faces must be a list of 1 to ${limits.maxPageSize} face ids.`);
  }
  await liveCluster(context.storage, clusterId);
  return json(200, await splitCluster(context.storage, recognitionOf(context), clusterId, faces as string[]));
};

/** The faces of a cluster as GET /faces?cluster=C pages them (newest first, the cluster followed through merges). */
export async function facesOfClusterPage(
  context: Parameters<RouteHandler>[0],
  clusterId: string,
  query: Readonly<Record<string, string | undefined>>,
  limits: Parameters<RouteHandler>[1]['limits'],
) {
  const cluster = await liveCluster(context.storage, validateClusterId(clusterId));
  const listing = `cluster:${cluster.clusterId}`;
  const range = { ...timeRange(query, limits), after: cursorPosition(query.next, listing, 'next') };
  const faces = await clusterFaces(context.storage, cluster.clusterId, range);
  const next = nextCursor(listing, faces, range.limit, (f) => ({ at: f.detectedAt, id: f.faceId }));
  return { cluster: cluster.clusterId, faces, next: next ?? null };
}
