import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { PagePosition } from '../../pipeline/ports';
import { type FaceRecord, facePosition, failedImagePosition, type ImageRecord } from '../../pipeline/records';

/**
 * One DynamoDB table for everything (single-table design), the same locally (dynalite) and on AWS.
 *
 * | item    | PK                  | SK          | GSI1PK / GSI1SK                    | GSI2PK / GSI2SK                 |
 * |---------|---------------------|-------------|------------------------------------|---------------------------------|
 * | image   | IMAGE#<imageId>     | #IMAGE      | FAILED / <processedAt> (if failed) | —                               |
 * | face    | IMAGE#<imageId>     | FACE#<0007> | PERSON#<personId or unknown> / <detectedAt>#<faceId> | EMOTION#<label> / <detectedAt>#<faceId> |
 * | track   | IMAGE#<videoId>     | TRACK#<0007>| —                                  | —                               |
 * | summary | IMAGE#<videoId>     | #SUMMARY    | —                                  | —                               |
 * | person  | PERSON#<personId>   | #PERSON     | —                                  | PEOPLE / <personId>             |
 * | gallery | GALLERY             | #VERSION    | —                                  | —                               |
 * | removal | REMOVED#<sha256(id)>| #PERSON     | —                                  | —                               |
 * | device  | DEVICE#<name>       | #DEVICE     | —                                  | DEVICES / <name>                |
 * | upload  | UPLOAD#<imageId>    | #UPLOAD     | —                                  | —                               |
 * | rejection | PERSON#<personId> | REJECTED#<faceId> | —                              | —                               |
 * | cluster | CLUSTER#<clusterId> | #CLUSTER    | —                                  | CLUSTERS / <updatedAt>#<clusterId> |
 * | member  | CLUSTER#<clusterId> | MEMBER#<detectedAt>#<faceId> | —                 | —                               |
 * | consolidated | CLUSTERS       | #CONSOLIDATED | —                                | —                               |
 * | vector  | VECTOR#<faceId>     | #VECTOR     | VECTORS#<0-f> / <addedAt>#<faceId> | —                               |
 * | job     | JOB#<jobId>         | #JOB        | —                                  | —                               |
 * | person-job | PERSON#<personId> | JOB#<jobId> | —                                  | —                               |
 *
 * A device item holds its name, the SHA-256 of its token's secret (never the token), its folder, permissions, times
 * and its revocation; it is never expired. An upload ticket says which device an image id was handed to and under
 * which key (POST /uploads, POST /analyze?store=true), so a device reads only its own results; it expires with the
 * images (`expiresAt`). An image item carries `sightedEtag` once its sighting is published (once per version).
 *
 * A video's record is its image item (with `video` set, and the counters `segmentsSampled` and `framesSettled`);
 * each sampled frame is an image of its own (its key in the frames bucket), with its faces under it.
 *
 * An erased image's item keeps only `erasedAt` (no key, no content); a removed person's record is deleted and a
 * removal mark (when, whether their faces were erased) stays under a hash of their id for `REMOVAL_MARK_DAYS`.
 *
 * Faces also carry `clusterId` (their cluster, while unknown) and the string sets `rejectedPeople` and
 * `rejectedClusters` (a user's "not this person"); each rejection of a person is also a `rejection` item in the
 * person's partition, so removing the person finds and forgets it. A cluster's item holds the sum of its members'
 * embeddings and their count; a merged or named cluster stays as an alias (`mergedInto`, `namedAs`). Vector items are
 * the face index on AWS (TableFaceIndex): the embedding again, apart from the face item, spread over 16 GSI1
 * partitions by a hash of the face id and ordered by when they were added, so a container's copy reads only what was
 * added since. Job items (re-matching progress) expire after `JOB_DAYS`; a job naming a person is also listed in the
 * person's partition (person-job), so removing the person forgets it.
 *
 * Access patterns: faces of an image (Query PK, SK begins_with FACE#), an image (Get), faces of a person over time
 * (GSI1), unknown faces (GSI1, PERSON#unknown), failed images (GSI1, FAILED), faces by emotion over time (GSI2),
 * people (GSI2, PEOPLE), devices (GSI2, DEVICES), a device (Get), an upload ticket (Get), clusters by last change
 * (GSI2, CLUSTERS), a cluster's faces newest first (Query PK, SK begins_with MEMBER#), the faces rejected for a person
 * (Query PK, SK begins_with REJECTED#), every vector added since a time (GSI1, VECTORS#0-f). Index keys are written
 * only once a fact is known (sparse indexes): a face enters the person index when it has been recognised and the
 * emotion index when its emotion has been read.
 */
export const KEY = {
  image: (imageId: string) => ({ PK: `IMAGE#${imageId}`, SK: '#IMAGE' }),
  face: (imageId: string, index: number) => ({ PK: `IMAGE#${imageId}`, SK: `FACE#${String(index).padStart(4, '0')}` }),
  person: (personId: string) => ({ PK: `PERSON#${personId}`, SK: '#PERSON' }),
  /** A person's removal mark, under a hash of their id (the id itself must not outlive an erasure). */
  personRemoval: (personId: string) => ({
    PK: `REMOVED#${createHash('sha256').update(personId).digest('hex')}`,
    SK: '#PERSON',
  }),
  gallery: () => ({ PK: 'GALLERY', SK: '#VERSION' }),
  /** The mark that every image item written before the images-by-time index carries its keys (set once). */
  imagesByTimeIndexed: () => ({ PK: 'INDEX', SK: '#IMAGES-BY-TIME' }),
  /** A face track of a video, under the video's image item. */
  track: (videoId: string, index: number) => ({
    PK: `IMAGE#${videoId}`,
    SK: `TRACK#${String(index).padStart(4, '0')}`,
  }),
  /** A video's summary over time (emotions per window, people seen), under the video's image item. */
  videoSummary: (videoId: string) => ({ PK: `IMAGE#${videoId}`, SK: '#SUMMARY' }),
  device: (name: string) => ({ PK: `DEVICE#${name}`, SK: '#DEVICE' }),
  uploadTicket: (imageId: string) => ({ PK: `UPLOAD#${imageId}`, SK: '#UPLOAD' }),
  cluster: (clusterId: string) => ({ PK: `CLUSTER#${clusterId}`, SK: '#CLUSTER' }),
  /** A face of a cluster, ordered by when the face was detected (listings newest first). */
  clusterMember: (clusterId: string, detectedAt: string, faceId: string) => ({
    PK: `CLUSTER#${clusterId}`,
    SK: `MEMBER#${detectedAt}#${faceId}`,
  }),
  /** That a user said a face is not this person (found again when the person is removed). */
  rejection: (personId: string, faceId: string) => ({ PK: `PERSON#${personId}`, SK: `REJECTED#${faceId}` }),
  job: (jobId: string) => ({ PK: `JOB#${jobId}`, SK: '#JOB' }),
  /** That a job names a person (found again when the person is removed). */
  personJob: (personId: string, jobId: string) => ({ PK: `PERSON#${personId}`, SK: `JOB#${jobId}` }),
  consolidation: () => ({ PK: 'CLUSTERS', SK: '#CONSOLIDATED' }),
  /** A face's embedding in the face index (TableFaceIndex), apart from the face item so the index reads only these. */
  vector: (faceId: string) => ({ PK: `VECTOR#${faceId}`, SK: '#VECTOR' }),
  /** That an image was erased on request, and when (nothing else: no key, no content). */
} as const;

/** The GSI2 partition listing the devices (sorted by name). */
export const DEVICES_PARTITION = 'DEVICES';

/**
 * The two sparse indexes, named for what they hold: GSI1 lists faces by identity (a person, or unknown) and the failed
 * images; GSI2 lists faces by emotion and the enrolled people.
 */
export const INDEX = {
  identityAndFailures: 'GSI1',
  emotionAndPeople: 'GSI2',
} as const;

export const UNKNOWN_PERSON = 'unknown';

/** Partitions of GSI1 the vector items are spread over (`VECTORS#0` … `VECTORS#f`). */
export const VECTOR_SHARDS = 16;

/** The GSI1 partition of a face's vector item (a hash of its id: it never moves). */
export function vectorShardKey(faceId: string): string {
  const shard = Number.parseInt(createHash('sha256').update(faceId).digest('hex').slice(0, 2), 16) % VECTOR_SHARDS;
  return `VECTORS#${shard.toString(16)}`;
}

/** The index sort key of a listed item: its time, then its id (unique), so listings are newest first. */
export const positionKey = (position: PagePosition) => `${position.at}#${position.id}`;

/** The index sort key of a face (identity and emotion listings). */
export const faceTimeKey = (face: FaceRecord) => positionKey(facePosition(face));

/**
 * The GSI2 partition of the images of the ingest bucket by time (uploads and videos, never a video's frames): the
 * gallery's grid. One partition: a library's upload rate is far below a partition's write limit.
 */
export const IMAGES_PARTITION = 'IMAGES';

/** The index sort key of an image in the images-by-time listing: when its record was created. */
export const imageTimeKey = (image: Pick<ImageRecord, 'createdAt' | 'imageId'>) =>
  positionKey({ at: image.createdAt, id: image.imageId });

/** The index sort key of a failed image. */
export const failedTimeKey = (image: ImageRecord) => positionKey(failedImagePosition(image));

/** The table's TTL attribute (epoch seconds): image and face items expire with the configured retention. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** How long a job's record (its progress) is kept after it was created. */
export const JOB_DAYS = 7;

/** How long a person's removal mark is kept: longer than any message can wait in a queue (SQS keeps 14 days at most). */
export const REMOVAL_MARK_DAYS = 15;

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const gsi = (name: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: `${name}PK`, KeyType: 'HASH' as const },
      { AttributeName: `${name}SK`, KeyType: 'RANGE' as const },
    ],
    // Keys only: a write that changes none of an index's keys writes nothing to it, and one that does writes a
    // small entry (billed per KB of what the index holds). With ALL, every update of a face (the 2 KB embedding
    // included) was billed again for each index it is in. Listings read the items behind the entries (batchGet.ts).
    Projection: { ProjectionType: 'KEYS_ONLY' as const },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: ['PK', 'SK', 'GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK'].map((name) => ({
      AttributeName: name,
      AttributeType: 'S' as const,
    })),
    KeySchema: [
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [gsi(INDEX.identityAndFailures), gsi(INDEX.emotionAndPeople)],
  };
}
