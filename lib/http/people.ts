import { defaults } from '../config';
import { FacepipeError } from '../errors';
import { mergePeople, nameCluster } from '../pipeline/corrections';
import { removePerson } from '../pipeline/erasure';
import { checkEnrolmentPhotos, enrolPerson } from '../pipeline/people';
import type { JobRecord } from '../pipeline/records';
import { startJob } from '../pipeline/rematch';
import { erasureView, jobView, personView } from '../pipeline/views';
import { enrolmentOf, jsonObjectBody } from './enrolmentBody';
import { recognitionOf } from './recognition';
import { json } from './responses';
import type { ApiContext, RouteHandler } from './types';
import { allowOnly, booleanParam, personIdParam } from './validation';

/** GET /people: every enrolled person (no embeddings). */
export const listPeople: RouteHandler = async ({ storage }, { request: { query } }) => {
  allowOnly(query, []);
  const people = await storage.results.listPeople();
  return json(200, { people: people.map(personView) });
};

/** GET /people/{personId}: one person, with the names of the photos that enrolled them. */
export const getPerson: RouteHandler = async ({ storage }, { request: { query }, parameters, audit }) => {
  allowOnly(query, []);
  const personId = personIdParam(parameters.personId);
  audit({ action: 'read-person', personId });
  const person = await storage.results.getPerson(personId);
  if (!person) throw new FacepipeError('NOT_FOUND', `No person with id "${personId}".`);
  return json(200, { ...personView(person), enrolmentPhotos: person.photos });
};

/**
 * POST /people: enrols a person, or adds photos to one (every photo must show exactly one face, else nothing is
 * written). 201 with Location for a new person, 200 for more photos of a known one.
 */
export const postPerson: RouteHandler = async (context, { request, limits, audit }) => {
  allowOnly(request.query, []);
  const enrolment = enrolmentOf(request, limits);
  if ('fromCluster' in enrolment) {
    audit({ action: 'name-cluster', personId: enrolment.personId, clusterId: enrolment.fromCluster });
    const named = await nameCluster(context.storage, recognitionOf(context), {
      personId: enrolment.personId,
      clusterId: enrolment.fromCluster,
      name: enrolment.name,
      details: enrolment.details,
    });
    const body = {
      ...personView(named.person),
      enrolmentPhotos: named.person.photos,
      fromCluster: { cluster: named.cluster, named: named.named, left: named.left, galleryAdded: named.galleryAdded },
      job: jobView(named.job),
    };
    const created = named.person.createdAt === named.person.updatedAt;
    audit({ created });
    return created
      ? json(201, body, { location: `/people/${encodeURIComponent(named.person.personId)}` })
      : json(200, body);
  }
  // A photo that is no image or a likely bomb is refused from its header (413/422) before the models load.
  await checkEnrolmentPhotos(enrolment.photos, context.decodeLimits?.() ?? defaults.decode);
  audit({ action: 'enrol', personId: enrolment.personId, photos: enrolment.photos.length });
  const person = await enrolPerson(await context.stages(), enrolment);
  // Earlier unknown faces alike them are re-matched in the background (a job whose progress GET /jobs/{id} shows);
  // an API composed without recognition jobs (tests of the other routes), or a deployment whose recognition is
  // Rekognition's (no stored embeddings, no face index), enrols only.
  const jobs = jobsOf(context);
  const job = jobs
    ? await startJob(context.storage, jobs.send, { kind: 'rematch', personId: person.personId })
    : undefined;
  const created = person.createdAt === person.updatedAt;
  audit({ created });
  const body = { ...personView(person), enrolmentPhotos: person.photos, job: job ? jobView(job) : null };
  if (!created) return json(200, body);
  return json(201, body, { location: `/people/${encodeURIComponent(person.personId)}` });
};

/** Where re-match and re-cluster jobs go, when they run here: composed with them, and with the face index. */
const jobsOf = (context: ApiContext) =>
  context.recognition && context.storage.faceIndex ? context.recognition() : undefined;

/** POST /people/{personId}/merge {"from": "<id>"}: `from` was this person enrolled twice. */
export const postMerge: RouteHandler = async (context, { request, parameters, limits, audit }) => {
  allowOnly(request.query, []);
  const into = personIdParam(parameters.personId);
  const body = jsonObjectBody(request, limits, ['from']);
  if (typeof body.from !== 'string')
    throw new FacepipeError('INVALID_OPTION', 'from is required: the person id to merge.');
  const from = personIdParam(body.from);
  audit({ action: 'merge-people', personId: into, fromPersonId: from });
  return json(200, await mergePeople(context.storage, recognitionOf(context), from, into));
};

/** DELETE /people/{personId}?erase=true|false: removes the person; with erase, every face recognised as them too. */
export const deletePerson: RouteHandler = async (context, { request: { query }, parameters, audit }) => {
  allowOnly(query, ['erase']);
  const personId = personIdParam(parameters.personId);
  const erase = booleanParam(query.erase, 'erase', false);
  audit({ action: 'remove-person', personId, erase });
  let job: JobRecord | undefined;
  const report = await removePerson(context.storage, personId, {
    erase,
    // Their faces are unknown now: back into clusters, in the background.
    recluster: async (faces) => {
      const jobs = jobsOf(context);
      if (faces.length === 0 || !jobs) return;
      job = await startJob(context.storage, jobs.send, {
        kind: 'recluster',
        faceIds: faces.map((f) => f.faceId),
      });
    },
  });
  const view = erasureView(report);
  audit({ removed: view.removed });
  return json(200, { ...view, job: job ? jobView(job) : null });
};
