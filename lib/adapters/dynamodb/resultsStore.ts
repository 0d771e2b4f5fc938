import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { cropVersionOf } from '../../pipeline/ids';
import { IO_PARALLELISM, inParallel } from '../../pipeline/inParallel';
import type { ImageWrite, PersonRemoval, ResultsStore, SegmentReport, TimeRange } from '../../pipeline/ports';
import type {
  ClusterMember,
  ClusterRecord,
  FaceRecord,
  Identity,
  ImageRecord,
  JobRecord,
  PersonRecord,
  RekognitionMatch,
  TrackRecord,
  VideoProgress,
  VideoSummary,
} from '../../pipeline/records';
import type { Emotion } from '../../vision/types';
import { itemsOfIndexEntries } from './batchGet';
import { batchWriteAll } from './batchWrite';
import {
  faceTimeKey,
  failedTimeKey,
  IMAGES_PARTITION,
  INDEX,
  imageTimeKey,
  JOB_DAYS,
  KEY,
  positionKey,
  REMOVAL_MARK_DAYS,
  TTL_ATTRIBUTE,
  UNKNOWN_PERSON,
} from './schema';

type Item = Record<string, unknown>;

/**
 * What the results store needs of a DynamoDB document client: `send`, with the document commands. On AWS the SDK's
 * `DynamoDBDocumentClient`; locally a client that hands the same requests to the embedded table as function calls.
 */
export type DocumentClient = Pick<DynamoDBDocumentClient, 'send'>;

function toBinary(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

function fromBinary(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const strip = <T>(item: Item): T => {
  const {
    PK,
    SK,
    GSI1PK,
    GSI1SK,
    GSI2PK,
    GSI2SK,
    type,
    describedFaces,
    segmentsSampled,
    framesSettled,
    sightedEtag,
    expiresAt,
    ...rest
  } = item;
  return rest as T;
};

/** A string set as the table returns it (a Set), as a sorted list; absent when empty. */
const listOf = (value: unknown): string[] | undefined =>
  value instanceof Set && value.size > 0 ? [...(value as Set<string>)].sort() : undefined;

function faceFromItem(item: Item): FaceRecord {
  const face = strip<FaceRecord & { embedding?: Uint8Array }>(item);
  // Only the person's id and the similarity: records written before details lived only on the person may hold more.
  const identity = face.identity && { personId: face.identity.personId, similarity: face.identity.similarity };
  const { rejectedPeople, rejectedClusters, ...rest } = face;
  const people = listOf(rejectedPeople);
  const clusters = listOf(rejectedClusters);
  return {
    ...rest,
    ...(identity ? { identity } : {}),
    ...(people ? { rejectedPeople: people } : {}),
    ...(clusters ? { rejectedClusters: clusters } : {}),
    embedding: face.embedding ? fromBinary(face.embedding) : undefined,
  } as FaceRecord;
}

function clusterFromItem(item: Item): ClusterRecord {
  const cluster = strip<Omit<ClusterRecord, 'sum'> & { sum: Uint8Array }>(item);
  return { ...cluster, aliases: cluster.aliases ?? [], sum: fromBinary(cluster.sum) };
}

function memberFromItem(item: Item): ClusterMember {
  const member = strip<Omit<ClusterMember, 'embedding'> & { embedding: Uint8Array }>(item);
  return { ...member, embedding: fromBinary(member.embedding) };
}

function personFromItem(item: Item): PersonRecord {
  const person = strip<Omit<PersonRecord, 'embeddings'> & { embeddings: Uint8Array[] }>(item);
  return { ...person, embeddings: (person.embeddings ?? []).map(fromBinary) };
}

/** A video's progress from its image item's counters (sets: duplicates count once). */
function videoProgress(item: Item | undefined): VideoProgress {
  const bySegment = new Map<number, SegmentReport>();
  for (const entry of (item?.segmentsSampled as Set<string> | undefined) ?? []) {
    const report = JSON.parse(entry) as SegmentReport;
    if ((bySegment.get(report.segment)?.frames ?? -1) < report.frames) bySegment.set(report.segment, report);
  }
  const sampled = [...bySegment.values()].sort((a, b) => a.segment - b.segment);
  return {
    segments: ((item?.video as { segments?: number } | undefined)?.segments ?? Number.POSITIVE_INFINITY) as number,
    sampled,
    framesSampled: sampled.reduce((sum, report) => sum + report.frames, 0),
    framesSettled: ((item?.framesSettled as Set<string> | undefined) ?? new Set()).size,
  };
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/**
 * The results store on DynamoDB: every read and write of images, faces and people, one code path for DynamoDB on
 * AWS and the embedded dynalite locally. Layout in `schema.ts`.
 */
/** The most keys one BatchGetItem takes. */
const BATCH_GET_KEYS = 100;

export class DynamoResultsStore implements ResultsStore {
  /**
   * `retentionDays`: image and face items carry `expiresAt` (epoch seconds), the table's TTL attribute, that many days
   * after they were first written; 0 keeps them until erased. What is derived from a face expires with it: its
   * cluster membership (with the embedding) and the "not this person" naming it; a cluster, that many days after its
   * last change (its newest face). The face index's vector items: `TableFaceIndex`. People never expire.
   */
  constructor(
    private readonly client: DocumentClient,
    readonly tableName: string,
    private readonly options: { retentionDays?: number } = {},
  ) {}

  /** The TTL attribute for an item first written at `writtenAt` (ISO), or nothing when retention is off. */
  private expiry(writtenAt: string): Record<string, number> {
    const days = this.options.retentionDays ?? 0;
    if (!(days > 0)) return {};
    return { [TTL_ATTRIBUTE]: Math.floor(Date.parse(writtenAt) / 1000) + Math.round(days * 86_400) };
  }

  // Images

  private async getImageItem(imageId: string): Promise<Item | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.image(imageId), ConsistentRead: true }),
    );
    return Item;
  }

  async getImage(imageId: string): Promise<ImageRecord | undefined> {
    const item = await this.getImageItem(imageId);
    return item && item.erasedAt === undefined ? strip<ImageRecord>(item) : undefined;
  }

  async getImages(imageIds: readonly string[]): Promise<Map<string, ImageRecord>> {
    const found = new Map<string, ImageRecord>();
    const ids = [...new Set(imageIds)];
    // BatchGetItem takes 100 keys; keys DynamoDB leaves unprocessed (throttling) are asked for again.
    for (let start = 0; start < ids.length; start += BATCH_GET_KEYS) {
      let keys: Record<string, unknown>[] = ids.slice(start, start + BATCH_GET_KEYS).map((id) => KEY.image(id));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const answer = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          if (item.erasedAt === undefined) {
            const image = strip<ImageRecord>(item);
            found.set(image.imageId, image);
          }
        }
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  async imageErasedAt(imageId: string): Promise<string | undefined> {
    return (await this.getImageItem(imageId))?.erasedAt as string | undefined;
  }

  async putImage(image: ImageRecord, options: { unlessErasedSince?: string } = {}): Promise<ImageWrite> {
    const item: Item = { ...KEY.image(image.imageId), type: 'image', ...image, ...this.expiry(image.createdAt) };
    if (image.status === 'failed') {
      item.GSI1PK = 'FAILED';
      item.GSI1SK = failedTimeKey(image);
    }
    if (!image.frame) {
      item.GSI2PK = IMAGES_PARTITION;
      item.GSI2SK = imageTimeKey(image);
    }
    const since = options.unlessErasedSince;
    try {
      // The item replaced comes back at no extra cost (a put bills the larger of the two items anyway).
      const { Attributes } = await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ReturnValues: 'ALL_OLD',
          ...(since === undefined
            ? {}
            : {
                ConditionExpression: 'attribute_not_exists(#erasedAt) OR #erasedAt < :since',
                ExpressionAttributeNames: { '#erasedAt': 'erasedAt' },
                ExpressionAttributeValues: { ':since': since },
              }),
        }),
      );
      return Attributes ? 'replaced' : 'new';
    } catch (error) {
      if (isConditionFailure(error)) return 'refused';
      throw error;
    }
  }

  /**
   * Sets attributes of an image record in place (never replacing it: the recognise stage adds to the same record
   * concurrently, and a put would drop its additions), only while it is the record of version `etag`.
   */
  async updateImage(
    imageId: string,
    etag: string,
    fields: Partial<Omit<ImageRecord, 'imageId'>>,
    options: { remove?: (keyof ImageRecord)[] } = {},
  ): Promise<boolean> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { '#etag': 'etag' };
    const values: Item = { ':etag': etag };
    const sets = entries.map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:v${i}`] = value;
      return `#a${i} = :v${i}`;
    });
    const removes = (options.remove ?? []).map((name, i) => {
      names[`#r${i}`] = name;
      return `#r${i}`;
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.image(imageId),
          // An empty update still checks the condition (the record is still this version's).
          UpdateExpression:
            `SET ${sets.length > 0 ? sets.join(', ') : '#etag = :etag'}` +
            (removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''),
          ConditionExpression: '#etag = :etag',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async markImageErased(imageId: string, at: string): Promise<void> {
    // One batch: the mark and the ticket's deletion (the same actions every erasing function already has).
    await this.batchWrite([
      { PutRequest: { Item: { ...KEY.image(imageId), type: 'erased-image', erasedAt: at } } },
      { DeleteRequest: { Key: KEY.uploadTicket(imageId) } },
    ]);
  }

  async clearImageErased(imageId: string): Promise<void> {
    await this.client
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: KEY.image(imageId),
          ConditionExpression: 'attribute_exists(#erasedAt)',
          ExpressionAttributeNames: { '#erasedAt': 'erasedAt' },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async countDescribedFace(
    face: FaceRecord,
  ): Promise<{ described: number; faceCount: number; image: ImageRecord } | undefined> {
    const version = cropVersionOf(face.crop.key);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.image(face.imageId),
          UpdateExpression: 'ADD #described :face',
          ConditionExpression: 'begins_with(#etag, :version)',
          ExpressionAttributeNames: { '#described': 'describedFaces', '#etag': 'etag' },
          ExpressionAttributeValues: { ':face': new Set([String(face.index)]), ':version': version },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = Attributes ?? {};
      const described = (item.describedFaces as Set<string> | undefined)?.size ?? 0;
      return {
        described,
        faceCount: (item.faceCount as number | undefined) ?? Number.POSITIVE_INFINITY,
        image: strip<ImageRecord>(item),
      };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async claimSighting(imageId: string, etag: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.image(imageId),
          UpdateExpression: 'SET #sighted = :etag',
          ConditionExpression: '#etag = :etag AND (attribute_not_exists(#sighted) OR #sighted <> :etag)',
          ExpressionAttributeNames: { '#sighted': 'sightedEtag', '#etag': 'etag' },
          ExpressionAttributeValues: { ':etag': etag },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async releaseSighting(imageId: string, etag: string): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.image(imageId),
          UpdateExpression: 'REMOVE #sighted',
          ConditionExpression: '#sighted = :etag',
          ExpressionAttributeNames: { '#sighted': 'sightedEtag' },
          ExpressionAttributeValues: { ':etag': etag },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async failedImages(range: TimeRange = {}): Promise<ImageRecord[]> {
    return (await this.queryIndex(INDEX.identityAndFailures, 'FAILED', range)).map((i) => strip<ImageRecord>(i));
  }

  async imagesByTime(range: TimeRange = {}): Promise<ImageRecord[]> {
    await this.indexImagesWrittenBefore();
    return (await this.queryIndex(INDEX.emotionAndPeople, IMAGES_PARTITION, range)).map((i) => strip<ImageRecord>(i));
  }

  private imagesIndexed: Promise<void> | undefined;

  /**
   * Image items written before the images-by-time index carry no GSI2 keys: the first listing gives them theirs (one
   * scan of the table, once per table: a mark item says it is done). An image erased meanwhile is left as its mark.
   */
  private indexImagesWrittenBefore(): Promise<void> {
    this.imagesIndexed ??= (async () => {
      const mark = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: KEY.imagesByTimeIndexed(), ConsistentRead: true }),
      );
      if (mark.Item) return;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: '#type = :image AND attribute_not_exists(GSI2PK) AND attribute_not_exists(#frame)',
            ProjectionExpression: 'imageId, createdAt',
            ExpressionAttributeNames: { '#type': 'type', '#frame': 'frame' },
            ExpressionAttributeValues: { ':image': 'image' },
            ExclusiveStartKey: start,
          }),
        );
        await inParallel(page.Items ?? [], IO_PARALLELISM, async (item) => {
          const image = item as Pick<ImageRecord, 'imageId' | 'createdAt'>;
          try {
            await this.client.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: KEY.image(image.imageId),
                UpdateExpression: 'SET GSI2PK = :pk, GSI2SK = :sk',
                ConditionExpression: '#type = :image',
                ExpressionAttributeNames: { '#type': 'type' },
                ExpressionAttributeValues: { ':pk': IMAGES_PARTITION, ':sk': imageTimeKey(image), ':image': 'image' },
              }),
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        });
        start = page.LastEvaluatedKey;
      } while (start);
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...KEY.imagesByTimeIndexed() } }));
    })().catch((error: unknown) => {
      this.imagesIndexed = undefined;
      throw error;
    });
    return this.imagesIndexed;
  }

  // Faces

  /**
   * Writes the face records of a detection. With `keepAnalysed`, a face whose record already names the same crop
   * (a duplicate delivery of the same version, whose geometry is identical) is left as it is, so a late duplicate
   * never wipes the emotion, embedding or identity the later stages already stored; the condition makes this hold
   * for concurrent duplicates too.
   */
  async putFaces(faces: readonly FaceRecord[], options: { keepAnalysed?: boolean } = {}): Promise<void> {
    const item = (face: FaceRecord) => ({
      ...KEY.face(face.imageId, face.index),
      type: 'face',
      ...this.faceAttributes(face),
      ...this.expiry(face.detectedAt),
    });
    if (!options.keepAnalysed) {
      await this.batchWrite(faces.map((face) => ({ PutRequest: { Item: item(face) } })));
      return;
    }
    await inParallel(faces, IO_PARALLELISM, async (face) => {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item(face),
            ConditionExpression: 'attribute_not_exists(PK) OR #crop.#key <> :key',
            ExpressionAttributeNames: { '#crop': 'crop', '#key': 'key' },
            ExpressionAttributeValues: { ':key': face.crop.key },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    });
  }

  async getFace(imageId: string, index: number): Promise<FaceRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.face(imageId, index), ConsistentRead: true }),
    );
    return Item ? faceFromItem(Item) : undefined;
  }

  async facesOfImage(imageId: string): Promise<FaceRecord[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :face)',
      ExpressionAttributeValues: { ':pk': KEY.image(imageId).PK, ':face': 'FACE#' },
      ConsistentRead: true,
    });
    return items.map(faceFromItem);
  }

  async deleteFace(face: Pick<FaceRecord, 'imageId' | 'index'>): Promise<FaceRecord | undefined> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: KEY.face(face.imageId, face.index),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? faceFromItem(Attributes) : undefined;
  }

  /**
   * Records the emotion (and age/gender) read from a crop. Only if the face still shows that crop: a late event
   * for an overwritten image must not touch the new version's face. Returns false when the face has moved on.
   */
  async setAppearance(
    face: FaceRecord,
    cropKey: string,
    appearance: Pick<FaceRecord, 'emotion' | 'age' | 'gender'>,
  ): Promise<FaceRecord | undefined> {
    const names: Record<string, string> = { '#crop': 'crop', '#key': 'key', '#emotion': 'emotion' };
    const values: Item = {
      ':crop': cropKey,
      ':emotion': appearance.emotion,
      ':gsi2pk': `EMOTION#${appearance.emotion?.label}`,
      ':gsi2sk': faceTimeKey(face),
    };
    let set = '#emotion = :emotion, GSI2PK = :gsi2pk, GSI2SK = :gsi2sk';
    if (appearance.age !== undefined) {
      set += ', #age = :age, #gender = :gender';
      names['#age'] = 'age';
      names['#gender'] = 'gender';
      values[':age'] = appearance.age;
      values[':gender'] = appearance.gender;
    }
    return this.conditionalFaceUpdate(face, `SET ${set}`, '#crop.#key = :crop', names, values);
  }

  /** Records who a face is (or that it is unknown), under the same stale-crop guard. */
  async setIdentity(face: FaceRecord, cropKey: string, identity: Identity): Promise<FaceRecord | undefined> {
    return this.conditionalFaceUpdate(
      face,
      'SET #identity = :identity, GSI1PK = :gsi1pk, GSI1SK = :gsi1sk',
      '#crop.#key = :crop',
      { '#crop': 'crop', '#key': 'key', '#identity': 'identity' },
      {
        ':crop': cropKey,
        ':identity': { personId: identity.personId, similarity: identity.similarity },
        ':gsi1pk': `PERSON#${identity.personId ?? UNKNOWN_PERSON}`,
        ':gsi1sk': faceTimeKey(face),
      },
    );
  }

  /** Stores a face's identity embedding, under the stale-crop guard. */
  async setEmbedding(face: FaceRecord, embedding: Float32Array): Promise<FaceRecord | undefined> {
    return this.conditionalFaceUpdate(
      face,
      'SET #embedding = :embedding',
      '#crop.#key = :crop',
      { '#crop': 'crop', '#key': 'key', '#embedding': 'embedding' },
      { ':crop': face.crop.key, ':embedding': toBinary(embedding) },
    );
  }

  /**
   * Records that the emotion backend found no face to read in a crop (with why), under the stale-crop guard: the face
   * is settled with no emotion (a retry would see the same pixels), and stays out of the emotion index.
   */
  async setNoEmotion(face: FaceRecord, cropKey: string, reason: string): Promise<FaceRecord | undefined> {
    return this.conditionalFaceUpdate(
      face,
      'SET #noEmotion = :noEmotion REMOVE #emotion, GSI2PK, GSI2SK',
      '#crop.#key = :crop',
      { '#crop': 'crop', '#key': 'key', '#noEmotion': 'noEmotion', '#emotion': 'emotion' },
      { ':crop': cropKey, ':noEmotion': { reason } },
    );
  }

  /** Stores the Rekognition collection's matches of a face (where the ONNX path stores the embedding). */
  async setRekognitionMatches(face: FaceRecord, matches: readonly RekognitionMatch[]): Promise<FaceRecord | undefined> {
    return this.conditionalFaceUpdate(
      face,
      'SET #matches = :matches',
      '#crop.#key = :crop',
      { '#crop': 'crop', '#key': 'key', '#matches': 'rekognitionMatches' },
      { ':crop': face.crop.key, ':matches': matches.map(({ faceId, similarity }) => ({ faceId, similarity })) },
    );
  }

  /** Marks a face unknown again (its person was removed from the gallery); the face itself stays. */
  async markUnknown(face: FaceRecord, personId: string): Promise<void> {
    const identity: Identity = { personId: null, similarity: face.identity?.similarity ?? 0 };
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.face(face.imageId, face.index),
          UpdateExpression: 'SET #identity = :identity, GSI1PK = :gsi1pk',
          ConditionExpression: '#identity.#person = :person',
          ExpressionAttributeNames: { '#identity': 'identity', '#person': 'personId' },
          ExpressionAttributeValues: {
            ':identity': identity,
            ':gsi1pk': `PERSON#${UNKNOWN_PERSON}`,
            ':person': personId,
          },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  facesOfPerson(personId: string, range: TimeRange = {}): Promise<FaceRecord[]> {
    return this.queryIndex(INDEX.identityAndFailures, `PERSON#${personId}`, range).then((items) =>
      items.map(faceFromItem),
    );
  }

  unknownFaces(range: TimeRange = {}): Promise<FaceRecord[]> {
    return this.facesOfPerson(UNKNOWN_PERSON, range);
  }

  async *describedFaces(): AsyncIterable<Pick<FaceRecord, 'faceId' | 'embedding'>> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: '#type = :face AND attribute_exists(#embedding)',
          ProjectionExpression: 'faceId, #embedding',
          ExpressionAttributeNames: { '#type': 'type', '#embedding': 'embedding' },
          ExpressionAttributeValues: { ':face': 'face' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        yield { faceId: item.faceId as string, embedding: fromBinary(item.embedding as Uint8Array) };
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  facesWithEmotion(label: Emotion, range: TimeRange = {}): Promise<FaceRecord[]> {
    return this.queryIndex(INDEX.emotionAndPeople, `EMOTION#${label}`, range).then((items) => items.map(faceFromItem));
  }

  // People

  async putPerson(person: PersonRecord, expectedRevision: string | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...KEY.person(person.personId),
            type: 'person',
            ...person,
            embeddings: person.embeddings.map(toBinary),
            GSI2PK: 'PEOPLE',
            GSI2SK: person.personId,
          },
          ...(expectedRevision === undefined
            ? { ConditionExpression: 'attribute_not_exists(PK)' }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.bumpGalleryVersion();
    return true;
  }

  async getPerson(personId: string): Promise<PersonRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.person(personId), ConsistentRead: true }),
    );
    return Item ? personFromItem(Item) : undefined;
  }

  async listPeople(): Promise<PersonRecord[]> {
    const entries = await this.queryAll({
      TableName: this.tableName,
      IndexName: INDEX.emotionAndPeople,
      KeyConditionExpression: 'GSI2PK = :people',
      ExpressionAttributeValues: { ':people': 'PEOPLE' },
    });
    return (await this.itemsOf(INDEX.emotionAndPeople, 'PEOPLE', entries)).map(personFromItem);
  }

  async removePerson(personId: string, removal: PersonRemoval): Promise<PersonRecord | undefined> {
    // The mark first: a stage that assigns a face to the person from now on finds it when it checks.
    const expires = Math.floor(Date.parse(removal.at) / 1000) + REMOVAL_MARK_DAYS * 86_400;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...KEY.personRemoval(personId), type: 'person-removal', ...removal, [TTL_ATTRIBUTE]: expires },
      }),
    );
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: KEY.person(personId), ReturnValues: 'ALL_OLD' }),
    );
    await this.bumpGalleryVersion();
    return Attributes ? personFromItem(Attributes) : undefined;
  }

  async personRemoval(personId: string): Promise<PersonRemoval | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.personRemoval(personId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { at: Item.at as string, facesErased: Item.facesErased === true };
  }

  /** A counter bumped on every change to the people: recognisers reload their cached gallery when it moves. */
  async galleryVersion(): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.gallery(), ConsistentRead: true }),
    );
    return (Item?.version as number | undefined) ?? 0;
  }

  private async bumpGalleryVersion(): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEY.gallery(),
        UpdateExpression: 'ADD #version :one',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  // Videos

  async countSampledSegment(videoId: string, etag: string, report: SegmentReport): Promise<VideoProgress | undefined> {
    const entry = JSON.stringify({
      segment: report.segment,
      frames: report.frames,
      cuts: report.cuts,
      ...(report.brokenAt ? { brokenAt: report.brokenAt } : {}),
    });
    return this.addToVideo(videoId, 'segmentsSampled', entry, '#etag = :version', etag);
  }

  async countSettledFrame(videoId: string, version: string, index: number): Promise<VideoProgress | undefined> {
    return this.addToVideo(videoId, 'framesSettled', String(index), 'begins_with(#etag, :version)', version);
  }

  async videoProgress(videoId: string, version: string): Promise<VideoProgress | undefined> {
    const item = await this.getImageItem(videoId);
    if (!item || item.erasedAt !== undefined || !String(item.etag).startsWith(version)) return undefined;
    return videoProgress(item);
  }

  private async addToVideo(
    videoId: string,
    attribute: string,
    entry: string,
    condition: string,
    version: string,
  ): Promise<VideoProgress | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.image(videoId),
          UpdateExpression: 'ADD #set :entry',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#set': attribute, '#etag': 'etag' },
          ExpressionAttributeValues: { ':entry': new Set([entry]), ':version': version },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return videoProgress(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  // Clusters

  async getCluster(clusterId: string): Promise<ClusterRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.cluster(clusterId), ConsistentRead: true }),
    );
    return Item ? clusterFromItem(Item) : undefined;
  }

  async putCluster(cluster: ClusterRecord, expectedRevision: string | undefined): Promise<boolean> {
    return this.conditionalPut(
      {
        ...KEY.cluster(cluster.clusterId),
        type: 'cluster',
        ...cluster,
        sum: toBinary(cluster.sum),
        GSI2PK: 'CLUSTERS',
        GSI2SK: `${cluster.updatedAt}#${cluster.clusterId}`,
        // After its newest face (every join writes the cluster), with the sum of embeddings it keeps.
        ...this.expiry(cluster.updatedAt),
      },
      expectedRevision,
    );
  }

  async deleteCluster(clusterId: string, expectedRevision: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: KEY.cluster(clusterId),
          ConditionExpression: '#revision = :expected',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':expected': expectedRevision },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async putVideoResults(videoId: string, tracks: readonly TrackRecord[], summary: VideoSummary): Promise<void> {
    const stale = (await this.videoItems(videoId, 'TRACK#')).filter((item) => {
      const index = Number(String(item.SK).slice('TRACK#'.length));
      return index >= tracks.length;
    });
    await this.batchWrite(stale.map((item) => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })));
    const writtenAt = new Date().toISOString();
    await this.batchWrite([
      ...tracks.map((track) => ({
        PutRequest: {
          Item: { ...KEY.track(videoId, track.index), type: 'track', ...track, ...this.expiry(writtenAt) },
        },
      })),
      {
        PutRequest: {
          Item: { ...KEY.videoSummary(videoId), type: 'video-summary', ...summary, ...this.expiry(writtenAt) },
        },
      },
    ]);
  }

  async tracksOfVideo(videoId: string): Promise<TrackRecord[]> {
    return (await this.videoItems(videoId, 'TRACK#')).map((item) => strip<TrackRecord>(item));
  }

  async videoSummary(videoId: string): Promise<VideoSummary | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.videoSummary(videoId), ConsistentRead: true }),
    );
    return Item ? strip<VideoSummary>(Item) : undefined;
  }

  async deleteVideoResults(videoId: string): Promise<string[]> {
    const items = [...(await this.videoItems(videoId, 'TRACK#')), ...(await this.videoItems(videoId, '#SUMMARY'))];
    await this.batchWrite(items.map((item) => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })));
    return items.map((item) =>
      item.SK === '#SUMMARY' ? `video summary ${videoId}` : `track ${(item as { trackId?: string }).trackId}`,
    );
  }

  private videoItems(videoId: string, prefix: string): Promise<Item[]> {
    return this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': KEY.image(videoId).PK, ':prefix': prefix },
      ConsistentRead: true,
    });
  }

  async listClusters(range: TimeRange = {}): Promise<ClusterRecord[]> {
    // Aliases share the listing (caches must see them change): read on past them to fill a page of live clusters.
    const live: ClusterRecord[] = [];
    let after = range.after;
    for (;;) {
      const page = await this.queryIndex(INDEX.emotionAndPeople, 'CLUSTERS', { ...range, after });
      live.push(...page.map(clusterFromItem).filter((c) => !c.mergedInto && !c.namedAs));
      const last = page[page.length - 1];
      if (range.limit === undefined || live.length >= range.limit || page.length < range.limit || !last) break;
      const [at, id] = [String(last.updatedAt), String(last.clusterId)];
      after = { at, id };
    }
    return range.limit === undefined ? live : live.slice(0, range.limit);
  }

  async clustersChangedSince(since?: string): Promise<ClusterRecord[]> {
    const entries = await this.queryAll({
      TableName: this.tableName,
      IndexName: INDEX.emotionAndPeople,
      KeyConditionExpression: since === undefined ? 'GSI2PK = :pk' : 'GSI2PK = :pk AND GSI2SK > :since',
      ExpressionAttributeValues: { ':pk': 'CLUSTERS', ...(since === undefined ? {} : { ':since': since }) },
    });
    return (await this.itemsOf(INDEX.emotionAndPeople, 'CLUSTERS', entries)).map(clusterFromItem);
  }

  async addClusterMember(member: ClusterMember): Promise<boolean> {
    const { embedding, rejectedClusters, ...rest } = member;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...KEY.clusterMember(member.clusterId, member.detectedAt, member.faceId),
            type: 'cluster-member',
            ...rest,
            embedding: toBinary(embedding),
            ...(rejectedClusters?.length ? { rejectedClusters } : {}),
            // The embedding goes when its face does.
            ...this.expiry(member.detectedAt),
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async removeClusterMember(member: Pick<ClusterMember, 'clusterId' | 'faceId' | 'detectedAt'>): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: KEY.clusterMember(member.clusterId, member.detectedAt, member.faceId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async clusterMembers(clusterId: string, range: TimeRange = {}): Promise<ClusterMember[]> {
    const values: Item = { ':pk': KEY.cluster(clusterId).PK, ':member': 'MEMBER#' };
    let condition = 'PK = :pk AND begins_with(SK, :member)';
    if (range.after) {
      condition = 'PK = :pk AND SK BETWEEN :member AND :before';
      values[':before'] = `MEMBER#${positionKey(range.after)}`;
    }
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      range.limit === undefined ? undefined : range.limit + 1,
    );
    const members = items.map(memberFromItem).filter((m) => {
      if (range.after && m.detectedAt === range.after.at && m.faceId === range.after.id) return false;
      if (range.since && m.detectedAt < range.since) return false;
      if (range.until && m.detectedAt > `${range.until}\uffff`) return false;
      return true;
    });
    return range.limit === undefined ? members : members.slice(0, range.limit);
  }

  async setFaceCluster(face: FaceRecord, clusterId: string | null, options: { from?: string } = {}): Promise<boolean> {
    const names = { '#crop': 'crop', '#key': 'key', '#cluster': 'clusterId' };
    if (clusterId === null) {
      return this.conditionalUpdate(face, 'REMOVE #cluster', '#crop.#key = :crop', names, { ':crop': face.crop.key });
    }
    // Joining: only an unknown face, and only from no cluster (two racing decisions: the first one stands), or from
    // the cluster a merge moves it out of.
    const from =
      options.from === undefined ? 'attribute_not_exists(#cluster) OR #cluster = :cluster' : '#cluster = :from';
    return this.conditionalUpdate(
      face,
      'SET #cluster = :cluster',
      `#crop.#key = :crop AND attribute_type(#identity.#person, :null) AND (${from})`,
      { ...names, '#identity': 'identity', '#person': 'personId' },
      {
        ':crop': face.crop.key,
        ':cluster': clusterId,
        ':null': 'NULL',
        ...(options.from === undefined ? {} : { ':from': options.from }),
      },
    );
  }

  // Corrections

  async claimUnknownFace(face: FaceRecord, identity: Identity): Promise<boolean> {
    return this.conditionalUpdate(
      face,
      'SET #identity = :identity, GSI1PK = :gsi1pk, GSI1SK = :gsi1sk REMOVE #cluster',
      '#crop.#key = :crop AND attribute_type(#identity.#person, :null)',
      { '#crop': 'crop', '#key': 'key', '#identity': 'identity', '#person': 'personId', '#cluster': 'clusterId' },
      {
        ':crop': face.crop.key,
        ':null': 'NULL',
        ':identity': { personId: identity.personId, similarity: identity.similarity },
        ':gsi1pk': `PERSON#${identity.personId ?? UNKNOWN_PERSON}`,
        ':gsi1sk': faceTimeKey(face),
      },
    );
  }

  async addRejection(face: FaceRecord, rejection: { personId?: string; clusterId?: string }): Promise<void> {
    const sets: string[] = [];
    const names: Record<string, string> = {};
    const values: Item = {};
    if (rejection.personId) {
      sets.push('#people :person');
      names['#people'] = 'rejectedPeople';
      values[':person'] = new Set([rejection.personId]);
      // The person's side first: a removal of the person that lists its rejections finds this one.
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...KEY.rejection(rejection.personId, face.faceId),
            type: 'rejection',
            faceId: face.faceId,
            imageId: face.imageId,
            index: face.index,
            ...this.expiry(face.detectedAt),
          },
        }),
      );
    }
    if (rejection.clusterId) {
      sets.push('#clusters :cluster');
      names['#clusters'] = 'rejectedClusters';
      values[':cluster'] = new Set([rejection.clusterId]);
    }
    if (sets.length === 0) return;
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.face(face.imageId, face.index),
          UpdateExpression: `ADD ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      )
      .catch(async (error) => {
        if (!isConditionFailure(error)) throw error;
        // The face was deleted (erased, or its photo replaced) after it was read: its forgetting did not see this
        // rejection, so the person's side goes here.
        if (rejection.personId) {
          await this.client.send(
            new DeleteCommand({ TableName: this.tableName, Key: KEY.rejection(rejection.personId, face.faceId) }),
          );
        }
      });
  }

  async removeRejection(face: Pick<FaceRecord, 'imageId' | 'index' | 'faceId'>, personId: string): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.face(face.imageId, face.index),
          UpdateExpression: 'DELETE #people :person',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#people': 'rejectedPeople' },
          ExpressionAttributeValues: { ':person': new Set([personId]) },
        }),
      )
      .catch((error) => {
        if (!isConditionFailure(error)) throw error;
      });
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: KEY.rejection(personId, face.faceId) }));
  }

  async facesRejecting(personId: string): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :rejected)',
      ExpressionAttributeValues: { ':pk': KEY.person(personId).PK, ':rejected': 'REJECTED#' },
      ConsistentRead: true,
    });
    return items.map((item) => item.faceId as string);
  }

  // Jobs

  async putJob(job: JobRecord): Promise<void> {
    const expires = Math.floor(Date.parse(job.createdAt) / 1000) + JOB_DAYS * 86_400;
    // A job naming a person is also listed in the person's partition, so removing them finds and forgets it.
    if (job.personId) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...KEY.personJob(job.personId, job.jobId),
            type: 'person-job',
            jobId: job.jobId,
            [TTL_ATTRIBUTE]: expires,
          },
        }),
      );
    }
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...KEY.job(job.jobId), type: 'job', ...job, [TTL_ATTRIBUTE]: expires },
      }),
    );
  }

  async forgetJobsOf(personId: string): Promise<string[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :job)',
      ExpressionAttributeValues: { ':pk': KEY.person(personId).PK, ':job': 'JOB#' },
      ConsistentRead: true,
    });
    const jobIds = items.map((item) => item.jobId as string);
    for (const jobId of jobIds) {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: KEY.job(jobId) }));
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: KEY.personJob(personId, jobId) }));
    }
    return jobIds;
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.job(jobId), ConsistentRead: true }),
    );
    return Item ? strip<JobRecord>(Item) : undefined;
  }

  async updateJob(
    jobId: string,
    update: { examined?: number; changed?: number } & Partial<Pick<JobRecord, 'status' | 'total' | 'error'>>,
  ): Promise<void> {
    const names: Record<string, string> = { '#updatedAt': 'updatedAt' };
    const values: Item = { ':now': new Date().toISOString() };
    const adds: string[] = [];
    const sets = ['#updatedAt = :now'];
    for (const key of ['examined', 'changed'] as const) {
      if (update[key] === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = update[key];
      adds.push(`#${key} :${key}`);
    }
    for (const key of ['status', 'total', 'error'] as const) {
      if (update[key] === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = update[key];
      sets.push(`#${key} = :${key}`);
    }
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.job(jobId),
          UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
          // A job forgotten meanwhile (its person was removed) is not brought back by a batch still running.
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async lastConsolidation(): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEY.consolidation(), ConsistentRead: true }),
    );
    return Item?.at as string | undefined;
  }

  async setLastConsolidation(at: string): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...KEY.consolidation(), type: 'consolidation', at } }),
    );
  }

  // Helpers

  /** A put conditional on the item's revision (undefined: the item must not exist yet); false when refused. */
  private async conditionalPut(item: Item, expectedRevision: string | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedRevision === undefined
            ? { ConditionExpression: 'attribute_not_exists(PK)' }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private faceAttributes(face: FaceRecord): Item {
    const { embedding, rejectedPeople, rejectedClusters, ...rest } = face;
    return {
      ...rest,
      ...(embedding ? { embedding: toBinary(embedding) } : {}),
      ...(rejectedPeople?.length ? { rejectedPeople: new Set(rejectedPeople) } : {}),
      ...(rejectedClusters?.length ? { rejectedClusters: new Set(rejectedClusters) } : {}),
    };
  }

  private async conditionalUpdate(
    face: FaceRecord,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Item,
  ): Promise<boolean> {
    return (await this.conditionalFaceUpdate(face, update, condition, names, values)) !== undefined;
  }

  /**
   * A conditional update of a face that returns the face as it stands right after the update (the item comes back
   * in the update's answer at no extra request or read unit: the read-after-write its callers need, without a
   * GetItem); undefined when the condition failed.
   */
  private async conditionalFaceUpdate(
    face: FaceRecord,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Item,
  ): Promise<FaceRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: KEY.face(face.imageId, face.index),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? faceFromItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  private async queryIndex(index: string, partition: string, range: TimeRange): Promise<Item[]> {
    const sortKey = `${index}SK`;
    const values: Item = { ':pk': partition };
    let condition = `${index}PK = :pk`;
    // The upper bound: the end of `until`'s day or time, or (exclusive) the position paged from, whichever is lower.
    const until = range.until === undefined ? undefined : `${range.until}\uffff`;
    const after = range.after === undefined ? undefined : positionKey(range.after);
    const before = after !== undefined && (until === undefined || after <= until) ? after : undefined;
    const upper = before ?? until;
    if (range.since && upper !== undefined) {
      condition += ` AND ${sortKey} BETWEEN :since AND :upper`;
      values[':since'] = range.since;
      values[':upper'] = upper;
    } else if (range.since) {
      condition += ` AND ${sortKey} >= :since`;
      values[':since'] = range.since;
    } else if (upper !== undefined) {
      condition += ` AND ${sortKey} ${before !== undefined ? '<' : '<='} :upper`;
      values[':upper'] = upper;
    }
    // BETWEEN includes the cursor's own item: read one more and leave it out.
    const extra = range.since && before !== undefined ? 1 : 0;
    const items = await this.queryAll(
      {
        TableName: this.tableName,
        IndexName: index,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
      },
      range.limit === undefined ? undefined : range.limit + extra,
    );
    const page = extra ? items.filter((item) => item[sortKey] !== before) : items;
    return this.itemsOf(index, partition, range.limit === undefined ? page : page.slice(0, range.limit));
  }

  /** The items behind a keys-only index's entries (batchGet.ts), in the index's order. */
  private itemsOf(index: string, partition: string, entries: readonly Item[]): Promise<Item[]> {
    return itemsOfIndexEntries(this.client, this.tableName, index, partition, entries);
  }

  private async queryAll(input: QueryCommandInput, limit?: number): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, ExclusiveStartKey: start, Limit: limit ? limit - items.length : undefined }),
      );
      items.push(...((page.Items ?? []) as Item[]));
      start = page.LastEvaluatedKey;
    } while (start && (!limit || items.length < limit));
    return items;
  }

  private async batchWrite(requests: Item[]): Promise<void> {
    await batchWriteAll(this.client, this.tableName, requests);
  }
}
