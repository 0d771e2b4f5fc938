import {
  CreateCollectionCommand,
  DeleteFacesCommand,
  type RekognitionClient,
  type UnsuccessfulFaceDeletion,
} from '@aws-sdk/client-rekognition';
import type { IndexedFace } from '../../pipeline/records';
import { isAwsError } from './errors';

/** DeleteFaces takes at most this many FaceIds per call. */
const DELETE_BATCH = 4096;

/**
 * Creates the collection unless it exists (deployment calls this; a second call is harmless). Returns whether it
 * was created now.
 */
export async function ensureCollection(client: RekognitionClient, collectionId: string): Promise<{ created: boolean }> {
  try {
    await client.send(new CreateCollectionCommand({ CollectionId: collectionId }));
    return { created: true };
  } catch (error) {
    if (isAwsError(error, 'ResourceAlreadyExistsException')) return { created: false };
    throw error;
  }
}

/**
 * Deletes indexed faces from their collections and returns the FaceIds that are gone. A face that is already gone
 * (FACE_NOT_FOUND, or its whole collection deleted) counts as deleted: erasure retried after a partial failure must
 * finish. Any other refusal throws, so the caller keeps its record of the FaceIds for another try.
 */
export async function deleteIndexedFaces(client: RekognitionClient, faces: readonly IndexedFace[]): Promise<string[]> {
  const byCollection = new Map<string, string[]>();
  for (const { collectionId, faceId } of faces) {
    byCollection.set(collectionId, [...(byCollection.get(collectionId) ?? []), faceId]);
  }
  const gone: string[] = [];
  for (const [collectionId, faceIds] of byCollection) {
    for (let i = 0; i < faceIds.length; i += DELETE_BATCH) {
      const batch = faceIds.slice(i, i + DELETE_BATCH);
      let failed: UnsuccessfulFaceDeletion[] = [];
      try {
        const result = await client.send(new DeleteFacesCommand({ CollectionId: collectionId, FaceIds: batch }));
        failed = (result.UnsuccessfulFaceDeletions ?? []).filter((f) => {
          const reasons = f.Reasons ?? [];
          return reasons.length === 0 || reasons.some((reason) => reason !== 'FACE_NOT_FOUND');
        });
      } catch (error) {
        if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
      }
      if (failed.length > 0) {
        const why = failed.map((f) => `${f.FaceId}: ${(f.Reasons ?? []).join(', ') || 'no reason given'}`).join('; ');
        throw new Error(`Rekognition did not delete ${failed.length} faces from collection ${collectionId}: ${why}`);
      }
      gone.push(...batch);
    }
  }
  return gone;
}
