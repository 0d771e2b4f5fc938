import { FacepipeError } from '../../errors';

/** Whether an error is the AWS service exception `name` (by name: the SDK's classes differ across copies of it). */
export function isAwsError(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/**
 * The collection a call named does not exist: a deployment problem, not a passing one, so it is said plainly. The
 * queue still retries the message (NOT_FOUND is not an input error), and it ends in the dead letters with this reason.
 */
export function missingCollection(collectionId: string, error: unknown): FacepipeError {
  return new FacepipeError(
    'NOT_FOUND',
    `Rekognition collection "${collectionId}" does not exist in this account and region: create it ` +
      '(ensureCollection does, at deployment) or set FACEPIPE_REKOGNITION_COLLECTION to an existing one.',
    { cause: error },
  );
}
