import { postAnalyze } from './analyze';
import { getCluster, getClusters, postSplit } from './clusters';
import { deleteDevice, listDevices, postDevice, rotateDevice } from './devices';
import { ApiError } from './errors';
import { getFaces, postMove, postReject } from './faces';
import { deleteImage, deleteImageByKey, getImage, getImages } from './images';
import { getJob } from './jobs';
import { deletePerson, getPerson, listPeople, postMerge, postPerson } from './people';
import { patchPerson } from './personEdit';
import { postSearch } from './search';
import type { ApiRequest, RouteHandler } from './types';
import { getUpload, postUpload } from './uploads';
import { getVideo, getVideos } from './videos';

/**
 * Every route of the API, by resource and method (serverless.yml declares the same routes). Who may call each is in
 * `access.ts`: the device routes (uploads, analyse) take a device token, all others are for administrators.
 */
export const ROUTES: Readonly<Record<string, Readonly<Record<string, RouteHandler>>>> = {
  '/images': { GET: getImages, DELETE: deleteImageByKey },
  '/images/{imageId}': { GET: getImage, DELETE: deleteImage },
  '/faces': { GET: getFaces },
  '/faces/{faceId}/reject': { POST: postReject },
  '/faces/{faceId}/move': { POST: postMove },
  '/videos': { GET: getVideos },
  '/videos/{videoId}': { GET: getVideo },
  '/people': { GET: listPeople, POST: postPerson },
  '/people/{personId}': { GET: getPerson, PATCH: patchPerson, DELETE: deletePerson },
  '/people/{personId}/merge': { POST: postMerge },
  '/clusters': { GET: getClusters },
  '/clusters/{clusterId}': { GET: getCluster },
  '/clusters/{clusterId}/split': { POST: postSplit },
  '/search': { POST: postSearch },
  '/jobs/{jobId}': { GET: getJob },
  '/devices': { GET: listDevices, POST: postDevice },
  '/devices/{name}': { DELETE: deleteDevice },
  '/devices/{name}/token': { POST: rotateDevice },
  '/uploads': { POST: postUpload },
  '/uploads/{imageId}': { GET: getUpload },
  '/analyze': { POST: postAnalyze },
  // The same analysis for IAM callers on AWS, where one route cannot take both IAM and the device authoriser.
  '/admin/analyze': { POST: postAnalyze },
};

export interface ResolvedRoute {
  resource: string;
  handler: RouteHandler;
  parameters: Record<string, string>;
}

/** A concrete path (`/people/obama`) matched against the resources, its parameters URL-decoded. */
function matchPath(rawPath: string): { resource: string; parameters: Record<string, string> } | undefined {
  const segments = rawPath.replace(/\/+$/, '').split('/');
  for (const resource of Object.keys(ROUTES)) {
    const template = resource.split('/');
    if (template.length !== segments.length) continue;
    const parameters: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const segment = segments[i] as string;
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (!name) return part === segment;
      try {
        parameters[name] = decodeURIComponent(segment);
      } catch {
        return false; // malformed percent-encoding: no resource has such a path
      }
      return segment !== '';
    });
    if (matches) return { resource, parameters };
  }
  return undefined;
}

/**
 * The route of a request: the one API Gateway matched (its route key), or for a catch-all route (`$default`) the
 * resource its path matches. Unknown path: 404; known path, other method: 405 with Allow.
 */
export function resolveRoute(request: ApiRequest): ResolvedRoute {
  const resource = request.routeKey.split(' ')[1];
  const matched =
    resource !== undefined && resource in ROUTES
      ? {
          resource,
          parameters: Object.fromEntries(
            Object.entries(request.pathParameters).filter((entry): entry is [string, string] => entry[1] !== undefined),
          ),
        }
      : matchPath(request.rawPath);
  const methods = matched ? ROUTES[matched.resource] : undefined;
  if (!matched || !methods) {
    throw new ApiError(404, 'NOT_FOUND', `No such resource; the API serves ${Object.keys(ROUTES).join(', ')}.`);
  }
  const handler = methods[request.method.toUpperCase()];
  if (!handler) {
    const allowed = Object.keys(methods).join(', ');
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${matched.resource} takes ${allowed}.`, { allow: allowed });
  }
  return { resource: matched.resource, handler, parameters: matched.parameters };
}
