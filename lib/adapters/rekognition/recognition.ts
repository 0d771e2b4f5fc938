import {
  IndexFacesCommand,
  type IndexFacesCommandOutput,
  type RekognitionClient,
  SearchFacesByImageCommand,
  type SearchFacesByImageResponse,
} from '@aws-sdk/client-rekognition';
import { FacepipeError } from '../../errors';
import type { EnrolmentAdditions, EnrolmentFace, FaceDescription, RecognitionBackend } from '../../pipeline/backends';
import type { EnrolledPerson, IdentificationRule, SimilarityMatrix } from '../../pipeline/recognition';
import type { FaceRecord, IndexedFace, PersonRecord, RekognitionMatch } from '../../pipeline/records';
import type { FaceInput } from '../../vision/analyser';
import { deleteIndexedFaces } from './collection';
import { isAwsError, missingCollection } from './errors';
import { rekognitionImageBytes } from './image';

/** How many of the collection's closest faces a search returns: a person can have several enrolment faces. */
export const SEARCH_MAX_FACES = 10;

export interface RekognitionRecognitionOptions {
  client: RekognitionClient;
  collectionId: string;
  /** FaceMatchThreshold, 0..100: matches below it are not returned, so they cannot name anyone. */
  matchThreshold: number;
}

/** The matches of a search as stored on the face record: FaceIds and similarities (0..1), best first. */
export function matchesOfSearch(response: Pick<SearchFacesByImageResponse, 'FaceMatches'>): RekognitionMatch[] {
  return (response.FaceMatches ?? [])
    .filter((m) => typeof m.Face?.FaceId === 'string' && Number.isFinite(m.Similarity))
    .map((m) => ({ faceId: m.Face?.FaceId as string, similarity: (m.Similarity as number) / 100 }))
    .sort((a, b) => b.similarity - a.similarity);
}

/**
 * Face × person similarities from the faces' stored matches: a person's similarity to a face is their best matching
 * indexed face's. A match counts only for a FaceId a person's record lists in this collection, so faces of people
 * no longer enrolled (or never recorded) name nobody; a pair without a match has no evidence (`-Infinity`).
 */
export function matchSimilarities(
  matches: readonly (readonly RekognitionMatch[])[],
  people: readonly EnrolledPerson[],
  collectionId: string,
): SimilarityMatrix {
  const personOf = new Map<string, number>();
  people.forEach((person, p) => {
    for (const face of person.rekognitionFaces ?? []) {
      if (face.collectionId === collectionId) personOf.set(face.faceId, p);
    }
  });
  return matches.map((faceMatches) => {
    const row = people.map(() => Number.NEGATIVE_INFINITY);
    for (const match of faceMatches) {
      const p = personOf.get(match.faceId);
      if (p !== undefined) row[p] = Math.max(row[p] as number, match.similarity);
    }
    return row;
  });
}

/**
 * Recognition by an Amazon Rekognition collection: enrolment indexes each enrolment face (ExternalImageId = the
 * person id, FaceIds kept on the person's record); a face crop is searched in the collection (SearchFacesByImage)
 * and its matches stored on the face record; the photo's decision is the same one-person-per-photo assignment as the
 * ONNX path's, over the matches' similarities.
 */
export class RekognitionRecognitionBackend implements RecognitionBackend {
  readonly name = 'rekognition';
  /** A face without any match is unknown with similarity 0. */
  readonly noMatch = 0;
  private readonly client: RekognitionClient;
  readonly collectionId: string;
  private readonly matchThreshold: number;

  constructor(options: RekognitionRecognitionOptions) {
    this.client = options.client;
    this.collectionId = options.collectionId;
    this.matchThreshold = options.matchThreshold;
  }

  /**
   * Rekognition's own FaceMatchThreshold (0..1 here) whatever the gallery's size, and no margin: the collection's
   * scores are its calibration.
   */
  ruleFor(_people: number): IdentificationRule {
    return { threshold: this.matchThreshold / 100, margin: 0 };
  }

  /**
   * SearchFacesByImage on the crop. Rekognition searches the largest face of the image, the one the crop was cut
   * around. An InvalidParameterException here means it sees no face in the crop (every parameter we send is
   * checked when the backend is made): no matches, so the face is unknown. Throttling and other errors are thrown
   * for the queue to retry.
   */
  async describe(_crop: FaceInput, cropBytes: Buffer): Promise<FaceDescription> {
    try {
      const response = await this.client.send(
        new SearchFacesByImageCommand({
          CollectionId: this.collectionId,
          Image: { Bytes: await rekognitionImageBytes(cropBytes) },
          FaceMatchThreshold: this.matchThreshold,
          MaxFaces: SEARCH_MAX_FACES,
        }),
      );
      return { kind: 'matches', matches: matchesOfSearch(response) };
    } catch (error) {
      if (isAwsError(error, 'InvalidParameterException')) return { kind: 'matches', matches: [] };
      if (isAwsError(error, 'ResourceNotFoundException')) throw missingCollection(this.collectionId, error);
      throw error;
    }
  }

  described(face: FaceRecord): boolean {
    return face.rekognitionMatches !== undefined;
  }

  similarities(faces: readonly FaceRecord[], people: readonly EnrolledPerson[]): SimilarityMatrix {
    return matchSimilarities(
      faces.map((f) => f.rekognitionMatches ?? []),
      people,
      this.collectionId,
    );
  }

  /**
   * IndexFaces for each enrolment face (the crop, at most one face, Rekognition's quality filter on). A face
   * Rekognition will not index fails the enrolment with its reasons, and the faces indexed before it are deleted
   * again, so nothing is left half-enrolled.
   */
  async enrol(personId: string, faces: readonly EnrolmentFace[]): Promise<EnrolmentAdditions> {
    const indexed: IndexedFace[] = [];
    try {
      for (const face of faces) {
        const faceId = await this.indexFace(personId, face);
        indexed.push({ collectionId: this.collectionId, faceId });
      }
    } catch (error) {
      await this.withdraw({ embeddings: [], rekognitionFaces: indexed });
      throw error;
    }
    return { embeddings: [], rekognitionFaces: indexed };
  }

  async withdraw(additions: EnrolmentAdditions): Promise<void> {
    if (additions.rekognitionFaces.length > 0) await deleteIndexedFaces(this.client, additions.rekognitionFaces);
  }

  async forget(person: PersonRecord): Promise<string[]> {
    const gone = await deleteIndexedFaces(this.client, person.rekognitionFaces ?? []);
    return gone.map((faceId) => `rekognition face ${faceId}`);
  }

  private async indexFace(personId: string, face: EnrolmentFace): Promise<string> {
    let response: IndexFacesCommandOutput;
    try {
      response = await this.client.send(
        new IndexFacesCommand({
          CollectionId: this.collectionId,
          Image: { Bytes: await rekognitionImageBytes(face.bytes) },
          ExternalImageId: personId,
          MaxFaces: 1,
          QualityFilter: 'AUTO',
        }),
      );
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) throw missingCollection(this.collectionId, error);
      if (isAwsError(error, 'InvalidParameterException')) {
        throw new FacepipeError('ENROLMENT_PHOTO', `Enrolment photo ${face.photo}: Rekognition sees no face in it.`, {
          cause: error,
        });
      }
      throw error;
    }
    const faceId = response.FaceRecords?.[0]?.Face?.FaceId;
    if (faceId) return faceId;
    const reasons = [...new Set((response.UnindexedFaces ?? []).flatMap((f) => f.Reasons ?? []))];
    throw new FacepipeError(
      'ENROLMENT_PHOTO',
      `Enrolment photo ${face.photo}: Rekognition would not index its face` +
        (reasons.length > 0 ? ` (${reasons.join(', ')}); use a sharper, brighter, frontal photo.` : '.'),
    );
  }
}
