import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { FaceIndex, FaceMatch, NearestOptions } from '../../pipeline/ports';
import { ExactFaceIndex } from '../vectors/exactFaceIndex';
import { itemsOfIndexEntries } from './batchGet';
import { batchWriteAll } from './batchWrite';
import type { DocumentClient } from './resultsStore';
import { INDEX, KEY, TTL_ATTRIBUTE, VECTOR_SHARDS, vectorShardKey } from './schema';

export interface TableFaceIndexOptions {
  /** How long the in-memory copy is used before the items added since are read (default 1 s). */
  maxAgeMs?: number;
  /** How often the whole copy is read again, dropping faces removed by other containers (default 10 min). */
  fullReloadMs?: number;
  now?: () => number;
  /** Vector items expire this many days after they are added, as the face records they index (0: kept). */
  retentionDays?: number;
}

/** Items added this long before the last refresh are read again: clocks of concurrent writers differ a little. */
const CLOCK_SKEW_MS = 5_000;

/**
 * The face index on AWS: one vector item per described face in the results table (layout in schema.ts), spread over
 * 16 partitions of GSI1 ordered by when they were added, and the exact scan (`ExactFaceIndex`) over an in-memory copy
 * per container. The copy is read whole on first use, then only the items added since (at most once per `maxAgeMs`),
 * and whole again every `fullReloadMs` to drop faces other containers removed (a search's caller reads each found
 * face's record anyway, and drops one that is gone). Fits while the embeddings fit a Lambda's memory: 100,000 faces
 * are 51 MB; docs/scale.md says what replaces it past that.
 */
export class TableFaceIndex implements FaceIndex {
  private memory = new ExactFaceIndex();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private fullAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly client: DocumentClient,
    private readonly tableName: string,
    private readonly options: TableFaceIndexOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async add(faceId: string, embedding: Float32Array): Promise<void> {
    const addedAt = new Date(this.now()).toISOString();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...KEY.vector(faceId),
          type: 'vector',
          faceId,
          embedding: new Uint8Array(
            embedding.buffer.slice(embedding.byteOffset, embedding.byteOffset + embedding.byteLength),
          ),
          GSI1PK: vectorShardKey(faceId),
          GSI1SK: `${addedAt}#${faceId}`,
          ...this.expiry(),
        },
      }),
    );
    this.memory.put(faceId, embedding);
  }

  /** The TTL attribute of a vector item added now (the embedding goes with its face), or nothing without retention. */
  private expiry(): Record<string, number> {
    const days = this.options.retentionDays ?? 0;
    return days > 0 ? { [TTL_ATTRIBUTE]: Math.floor(this.now() / 1000) + Math.round(days * 86_400) } : {};
  }

  async remove(faceIds: readonly string[]): Promise<void> {
    // In batches (the stages that erase faces delete their items in batches, not one by one).
    await batchWriteAll(
      this.client,
      this.tableName,
      faceIds.map((faceId) => ({ DeleteRequest: { Key: KEY.vector(faceId) } })),
    );
    this.memory.delete(faceIds);
  }

  async nearest(embedding: Float32Array, options: NearestOptions): Promise<FaceMatch[]> {
    await this.fresh();
    return this.memory.scan(embedding, options);
  }

  async size(): Promise<number> {
    await this.fresh();
    return this.memory.size();
  }

  private fresh(): Promise<void> {
    if (this.loading) return this.loading;
    const now = this.now();
    if (now - this.loadedAt < (this.options.maxAgeMs ?? 1000)) return Promise.resolve();
    const full = now - this.fullAt >= (this.options.fullReloadMs ?? 600_000);
    const since = full ? undefined : new Date(this.loadedAt - CLOCK_SKEW_MS).toISOString();
    this.loading = this.load(since)
      .then(() => {
        this.loadedAt = now;
        if (full) this.fullAt = now;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  /** Reads the vector items (added after `since`, or all of them into a new copy). */
  private async load(since: string | undefined): Promise<void> {
    const target = since === undefined ? new ExactFaceIndex() : this.memory;
    await Promise.all(
      Array.from({ length: VECTOR_SHARDS }, async (_, shard) => {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: INDEX.identityAndFailures,
              KeyConditionExpression: since === undefined ? 'GSI1PK = :pk' : 'GSI1PK = :pk AND GSI1SK > :since',
              ExpressionAttributeValues: {
                ':pk': `VECTORS#${shard.toString(16)}`,
                ...(since ? { ':since': since } : {}),
              },
              ExclusiveStartKey: start,
            }),
          );
          const pk = `VECTORS#${shard.toString(16)}`;
          const items = await itemsOfIndexEntries(
            this.client,
            this.tableName,
            INDEX.identityAndFailures,
            pk,
            page.Items ?? [],
          );
          for (const item of items) {
            const bytes = item.embedding as Uint8Array;
            target.put(
              item.faceId as string,
              new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
            );
          }
          start = page.LastEvaluatedKey;
        } while (start);
      }),
    );
    this.memory = target;
  }
}
