import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger of the functions: structured JSON lines with the function's request id (added per invocation).
 * What may be logged: image keys and ids, face ids, counts, outcomes, error codes and messages. Never embeddings,
 * person names or details, image bytes or presigned URLs.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'facepipe' });
