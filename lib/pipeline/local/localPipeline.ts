import path from 'node:path';
import { FaceAnalyzer } from '../../analyzer';
import type { FacepipeConfig } from '../../config';
import { FacepipeError } from '../../errors';
import { imageIdOf } from '../ids';
import type { ObjectCreatedEvent } from '../ports';
import { GalleryCache } from '../recognition';
import type { BucketNames, StageContext } from '../stages/context';
import { type DetectOutcome, detectStage } from '../stages/detect';
import { emotionStage } from '../stages/emotion';
import { recogniseStage } from '../stages/recognise';
import { ResultsTable } from '../table/resultsTable';
import { tableDefinition } from '../table/schema';
import { FileDeadLetterStore, type StoredDeadLetter } from './deadLetterFile';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './embeddedDynamo';
import { FolderObjectStore } from './folderStore';
import { InProcessQueue, InProcessTopic } from './inProcessQueue';

export const LOCAL_BUCKETS: BucketNames = { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' };
export const LOCAL_TABLE = 'facepipe-results';
export const DEFAULT_DATA_DIR = '.facepipe';

export type PipelineEvent =
  | { type: 'image'; key: string; outcome: DetectOutcome }
  | { type: 'dead-letter'; queue: string; reason: string; message: ObjectCreatedEvent };

export interface LocalPipelineOptions {
  dataDir: string;
  config: FacepipeConfig;
  /** Re-process images whose content has not changed. */
  force?: boolean;
  /** Messages each stage handles at once (default 2: both cores busy while one waits on I/O). */
  workers?: number;
  /** Start the stage consumers (false for commands that only read or erase). */
  consume?: boolean;
  /** Load the models (false for commands that never analyse). */
  models?: boolean;
}

/** Queue settings: the local twin of the SQS queues on AWS (retries, then the dead letters). */
const QUEUE = { visibilityTimeoutMs: 120_000, maxReceiveCount: 3, backoffMs: 500 };

/**
 * The pipeline on one machine, with the adapters of the local default: a folder per bucket, in-process queues and
 * topic, the results table in embedded dynalite, dead letters in a JSON-lines file, all under the data directory.
 * The stages are the very ones the AWS handlers call.
 */
export class LocalPipeline {
  readonly buckets = LOCAL_BUCKETS;
  private readonly listeners: ((event: PipelineEvent) => void)[] = [];
  private readonly queues: InProcessQueue<ObjectCreatedEvent>[] = [];
  private closed = false;

  private constructor(
    readonly dataDir: string,
    readonly store: FolderObjectStore,
    readonly table: ResultsTable,
    readonly deadLetters: FileDeadLetterStore<ObjectCreatedEvent>,
    private readonly dynamo: EmbeddedDynamo,
    private readonly analyzer: FaceAnalyzer | undefined,
  ) {}

  static async open(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const dataDir = path.resolve(options.dataDir);
    const dynamo = await startEmbeddedDynamo({ dataDir, tableDefinition: tableDefinition(LOCAL_TABLE) });
    try {
      const analyzer = options.models === false ? undefined : await FaceAnalyzer.create(options.config);
      const pipeline = new LocalPipeline(
        dataDir,
        new FolderObjectStore(dataDir),
        new ResultsTable(dynamo.client, LOCAL_TABLE),
        new FileDeadLetterStore<ObjectCreatedEvent>(dataDir),
        dynamo,
        analyzer,
      );
      // We hold the table's lock, so no other process is writing here: leftovers of a killed run can go.
      await pipeline.store.sweepTemporaryFiles();
      if (options.consume !== false) pipeline.wire(options);
      return pipeline;
    } catch (error) {
      await dynamo.stop();
      throw error;
    }
  }

  /** The stage context (stores plus the vision core); only when the models were loaded. */
  get context(): StageContext {
    if (!this.analyzer) throw new FacepipeError('INTERNAL', 'This pipeline was opened without models.');
    return { store: this.store, table: this.table, analyzer: this.analyzer, buckets: this.buckets };
  }

  on(listener: (event: PipelineEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Puts a file into the ingest bucket, as an upload to S3 would; the bucket notification starts the pipeline. */
  async upload(key: string, body: Buffer): Promise<void> {
    await this.store.put(this.buckets.ingest, key, body);
  }

  /** Announces an object already in the ingest bucket (a file dropped into its folder, or a re-run). */
  async announce(key: string): Promise<void> {
    await this.store.notifyObjectCreated(this.buckets.ingest, key);
  }

  /**
   * Re-announces the crops of an image's faces that a later stage never finished (their events were lost with a
   * killed process: local queues live in memory). Returns how many faces were resumed.
   */
  async resumeFaces(imageId: string): Promise<number> {
    let resumed = 0;
    for (const face of await this.table.facesOfImage(imageId)) {
      if (face.emotion && face.identity) continue;
      await this.store.notifyObjectCreated(this.buckets.crops, face.crop.key);
      resumed++;
    }
    return resumed;
  }

  /** Resolves when every queue is empty and nothing is in flight (the whole pipeline is done). */
  async drained(): Promise<void> {
    // A stage can enqueue work for a later one, so wait until all are idle at once.
    for (;;) {
      await Promise.all(this.queues.map((q) => q.drained()));
      const busy = this.queues.some((q) => {
        const s = q.stats();
        return s.visible + s.inFlight + s.delayed > 0;
      });
      if (!busy) return;
    }
  }

  /** Stops receiving, lets the handlers in flight finish, then closes the table. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.queues.map((q) => q.stop()));
    await this.dynamo.stop();
  }

  private emit(event: PipelineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private wire(options: LocalPipelineOptions): void {
    const context = this.context;
    const concurrency = options.workers ?? 2;
    const queue = (name: string) => {
      const q = new InProcessQueue<ObjectCreatedEvent>(name, {
        ...QUEUE,
        concurrency,
        deadLetters: this.deadLetters,
        onDeadLetter: (dl) => this.onDeadLetter(dl),
      });
      this.queues.push(q);
      return q;
    };
    const ingest = queue('ingest');
    const emotion = queue('emotion');
    const recognise = queue('recognise');
    const crops = new InProcessTopic<ObjectCreatedEvent>('crop-created');
    crops.subscribe(emotion);
    crops.subscribe(recognise);
    this.store.onObjectCreated(this.buckets.ingest, (event) => ingest.send(event));
    this.store.onObjectCreated(this.buckets.crops, (event) => crops.publish(event));

    const gallery = new GalleryCache(this.table);
    ingest.start(async (event) => {
      const outcome = await detectStage(context, event, { force: options.force });
      this.emit({ type: 'image', key: event.key, outcome });
    });
    emotion.start(async (event) => {
      await emotionStage(context, event);
    });
    recognise.start(async (event) => {
      await recogniseStage(context, gallery, event);
    });
  }

  /** A message the stages gave up on: for an upload, the image is recorded as failed so the user sees it. */
  private async onDeadLetter(deadLetter: StoredDeadLetter<ObjectCreatedEvent>): Promise<void> {
    const { message, queue, reason } = deadLetter;
    if (queue === 'ingest') {
      const imageId = imageIdOf(message.bucket, message.key);
      const existing = await this.table.getImage(imageId);
      const now = new Date().toISOString();
      await this.table.putImage({
        imageId,
        bucket: message.bucket,
        key: message.key,
        etag: existing?.etag ?? message.etag ?? '',
        size: existing?.size ?? message.size ?? 0,
        createdAt: existing?.createdAt ?? now,
        status: 'failed',
        error: {
          code: deadLetter.code ?? 'PROCESSING_FAILED',
          message: `gave up after ${deadLetter.receiveCount} attempts: ${reason}`,
        },
        processedAt: now,
      });
      this.emit({
        type: 'image',
        key: message.key,
        outcome: { status: 'failed', imageId, error: { code: 'PROCESSING_FAILED', message: reason } },
      });
    }
    this.emit({ type: 'dead-letter', queue, reason, message });
  }
}
