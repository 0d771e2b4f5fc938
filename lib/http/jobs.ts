import { FacepipeError } from '../errors';
import { jobView } from '../pipeline/views';
import { json } from './responses';
import type { RouteHandler } from './types';
import { allowOnly } from './validation';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** GET /jobs/{jobId}: a re-match or re-cluster job's progress (kept 7 days). */
export const getJob: RouteHandler = async ({ storage }, { request: { query }, parameters }) => {
  allowOnly(query, []);
  const jobId = parameters.jobId ?? '';
  if (!JOB_ID.test(jobId)) throw new FacepipeError('INVALID_OPTION', 'A job id is a UUID (the jobId of a response).');
  const job = await storage.results.getJob(jobId);
  if (!job) throw new FacepipeError('NOT_FOUND', `No job "${jobId}" (jobs are kept 7 days).`);
  return json(200, jobView(job));
};
