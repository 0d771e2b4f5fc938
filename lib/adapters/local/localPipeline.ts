import path from 'node:path';
import type { FacepipeConfig } from '../../config';
import { FacepipeError } from '../../errors';
import { ClusterCache } from '../../pipeline/clusters';
import type { Recognition } from '../../pipeline/corrections';
import { eraseImage } from '../../pipeline/erasure';
import { imageIdOf } from '../../pipeline/ids';
import type { ObjectCreatedEvent, ObjectStore } from '../../pipeline/ports';
import { GalleryCache } from '../../pipeline/recognition';
import { emotionSettled, identitySettled } from '../../pipeline/records';
import { type JobSender, runRecognitionJob } from '../../pipeline/rematch';
import type { Sighting } from '../../pipeline/sightings';
import type { BucketNames, StageContext, StorageContext } from '../../pipeline/stages/context';
import { type DetectOutcome, detectStage, recordGaveUp } from '../../pipeline/stages/detect';
import { emotionStage } from '../../pipeline/stages/emotion';
import { recogniseStage } from '../../pipeline/stages/recognise';
import { FaceAnalyser } from '../../vision/analyser';
import { DynamoDeviceRegistry } from '../dynamodb/deviceRegistry';
import { DynamoResultsStore } from '../dynamodb/resultsStore';
import { tableDefinition } from '../dynamodb/schema';
import { FileDeadLetterStore, type StoredDeadLetter } from './deadLetterFile';
import { type EmbeddedDynamo, startEmbeddedDynamo } from './embeddedDynamo';
import { FileFaceIndex } from './fileFaceIndex';
import { FolderObjectStore } from './folderStore';
import { InProcessQueue, InProcessTopic, type QueueOptions } from './inProcessQueue';
import { LocalKeys } from './localKeys';

export const LOCAL_BUCKETS: BucketNames = { ingest: 'ingest', crops: 'crops', thumbnails: 'thumbnails' };
export const LOCAL_TABLE = 'facepipe-results';

export type PipelineEvent =
  | { type: 'image'; key: string; outcome: DetectOutcome }
  | { type: 'dead-letter'; queue: string; reason: string; message: ObjectCreatedEvent }
  /** A photo fully analysed (its faces' identities and emotions), as the SNS sightings topic carries it on AWS. */
  | { type: 'sighting'; sighting: Sighting };

export interface LocalPipelineOptions {
  dataDir: string;
  config: FacepipeConfig;
  /** Re-process images whose content has not changed. */
  force?: boolean;
  /** Messages each stage handles at once (default: `QUEUE_DEFAULTS.concurrency`, the `--workers` default). */
  workers?: number;
  /** Start the stage consumers (false for commands that only read or erase). */
  consume?: boolean;
  /** Load the models (false for commands that never analyse). */
  models?: boolean;
  /** Retry settings of the stage queues (defaults: `QUEUE_DEFAULTS` in lib/options.ts). */
  delivery?: Partial<DeliverySettings>;
  /**
   * Wraps the object store the stages see (to inject faults in tests, or to instrument); notifications still come
   * from the folder store underneath.
   */
  wrapStore?: (store: ObjectStore) => ObjectStore;
}

export type DeliverySettings = Required<
  Pick<QueueOptions<unknown>, 'visibilityTimeoutMs' | 'maxReceiveCount' | 'backoffMs'>
>;

/** The queues a dead letter can come from, and be re-driven into. */
export const STAGE_QUEUES = ['ingest', 'emotion', 'recognise'] as const;
export type StageQueue = (typeof STAGE_QUEUES)[number];

/** What a re-drive did: dead letters sent back to their queue, removed once handled, and those that failed again. */
export interface RedriveReport {
  /** Re-sent per queue. */
  sent: Record<StageQueue, number>;
  /** Removed from the dead letters once their queues had handled them. */
  removed: number;
  /** New dead letters written while the re-driven messages were handled. */
  deadLetteredAgain: number;
  /** Dead letters of a queue this pipeline does not have, left as they are. */
  unknownQueue: number;
}

/**
 * The pipeline on one machine, with the adapters of the local default: a folder per bucket, in-process queues and
 * topic, the results table in embedded dynalite, dead letters in a JSON-lines file, all under the data directory.
 * The stages are the very ones the AWS handlers call.
 */
export class LocalPipeline {
  readonly buckets = LOCAL_BUCKETS;
  /** The ingest keys of local files (`localKeys.ts`). */
  readonly keys: LocalKeys;
  /** The devices allowed to upload and read their own results (`facepipe devices`, `facepipe serve`). */
  readonly devices: DynamoDeviceRegistry;
  /** The gallery the recognise stage and `POST /analyze` share (reloaded when people change). */
  readonly gallery: GalleryCache;
  private readonly listeners: ((event: PipelineEvent) => void)[] = [];
  private readonly queues: InProcessQueue<ObjectCreatedEvent>[] = [];
  private closed = false;
  /** The clusters, cached for every stage and command of this process. */
  readonly clusters: ClusterCache;

  private constructor(
    readonly dataDir: string,
    readonly store: FolderObjectStore,
    readonly results: DynamoResultsStore,
    readonly deadLetters: FileDeadLetterStore<ObjectCreatedEvent>,
    private readonly dynamo: EmbeddedDynamo,
    private readonly analyser: FaceAnalyser | undefined,
    private readonly stageStore: ObjectStore,
    /** Every described face's embedding (search by face, re-matching): `<dataDir>/index/faces.log`. */
    readonly faceIndex: FileFaceIndex,
    readonly config: FacepipeConfig,
  ) {
    this.keys = new LocalKeys(store, this.buckets.ingest);
    this.devices = new DynamoDeviceRegistry(dynamo.client, LOCAL_TABLE);
    this.gallery = new GalleryCache(results);
    this.clusters = new ClusterCache(results);
  }

  /**
   * What re-matching, clustering and corrections need: the settings, the cluster cache, and where jobs go — here
   * straight to the job runner, one message after the other (on AWS, the re-match queue).
   */
  get recognition(): Recognition {
    const send: JobSender = (job) => runRecognitionJob(this.storage, this.config.recognition, this.clusters, send, job);
    return { settings: this.config.recognition, clusters: this.clusters, send };
  }

  static async open(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const dataDir = path.resolve(options.dataDir);
    const dynamo = await startEmbeddedDynamo({ dataDir, tableDefinition: tableDefinition(LOCAL_TABLE) });
    try {
      const analyser = options.models === false ? undefined : await FaceAnalyser.create(options.config);
      // The store never reads an object over the size limit, not even to hash a file a user dropped in.
      const store = new FolderObjectStore(dataDir, { maxBodyBytes: options.config.decode.maxBytes });
      const pipeline = new LocalPipeline(
        dataDir,
        store,
        new DynamoResultsStore(dynamo.client, LOCAL_TABLE),
        new FileDeadLetterStore<ObjectCreatedEvent>(dataDir),
        dynamo,
        analyser,
        options.wrapStore?.(store) ?? store,
        FileFaceIndex.open(dataDir),
        options.config,
      );
      // A data directory from before the face index (or whose index file was deleted): fill it from the results.
      if (!pipeline.faceIndex.existed) {
        for await (const face of pipeline.results.describedFaces()) {
          if (face.embedding) await pipeline.faceIndex.add(face.faceId, face.embedding);
        }
      }
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
    if (!this.analyser) throw new FacepipeError('INTERNAL', 'This pipeline was opened without models.');
    return {
      ...this.storage,
      store: this.stageStore,
      analyser: this.analyser,
      sightings: { publish: async (sighting) => this.emit({ type: 'sighting', sighting }) },
    };
  }

  /** The stores alone (queries, erasure): also without models. */
  get storage(): StorageContext {
    return {
      store: this.store,
      results: this.results,
      buckets: this.buckets,
      faceIndex: this.faceIndex,
      purgeErased: () => this.purgeErased(),
    };
  }

  /** After an erasure: erased embeddings must not stay in the face index's file either. */
  purgeErased(): Promise<void> {
    return this.faceIndex.compact();
  }

  /** Listens to what the pipeline does; returns the function that stops listening. */
  on(listener: (event: PipelineEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /**
   * Puts a file into the ingest bucket, as an upload to S3 would; the bucket notification starts the pipeline. A key
   * the store refuses (INVALID_KEY: over S3's 1024 bytes, not Unicode, clashing with a folder of keys) cannot be
   * stored, so it is recorded at once as a failed image under that key, for the user to see.
   */
  async upload(key: string, body: Buffer): Promise<void> {
    try {
      await this.store.put(this.buckets.ingest, key, body);
    } catch (error) {
      if (!(error instanceof FacepipeError && error.code === 'INVALID_KEY')) throw error;
      await this.refuseUpload(key, body.length, error);
    }
  }

  /**
   * Records a file that is not uploaded at all as a failed image under its key, for the user to see: a key the store
   * refuses (INVALID_KEY), or a local file over the size limit (FILE_TOO_LARGE), which is neither read nor copied
   * into the ingest bucket. The detect stage records the same for an object it refuses from its `head`. As there, a
   * refused new version leaves nothing of an earlier one: its upload, faces, crops and thumbnails are removed.
   */
  async refuseUpload(key: string, size: number, error: FacepipeError): Promise<void> {
    const imageId = imageIdOf(this.buckets.ingest, key);
    const now = new Date().toISOString();
    const failure = { code: error.code, message: error.message };
    const existing = await this.results.getImage(imageId);
    if (error.code !== 'INVALID_KEY' && (existing || (await this.store.head(this.buckets.ingest, key)))) {
      await eraseImage(this, key);
    }
    await this.results.putImage({
      imageId,
      bucket: this.buckets.ingest,
      key,
      etag: '',
      size,
      status: 'failed',
      error: failure,
      createdAt: existing?.createdAt ?? now,
      processedAt: now,
    });
    this.emit({ type: 'image', key, outcome: { status: 'failed', imageId, error: failure } });
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
    for (const face of await this.results.facesOfImage(imageId)) {
      if (emotionSettled(face) && identitySettled(face)) continue;
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

  /**
   * Sends dead letters (of one queue, or all) back into their queues, waits until the pipeline has handled them,
   * then removes them from the dead letters: a message is never dropped before it has been handled, so a process
   * killed midway loses nothing (re-driving again repeats some idempotent work). A message that fails again is a
   * new dead letter. A re-driven ingest message that succeeds turns its failed image record into a done one.
   */
  async redrive(queue?: StageQueue): Promise<RedriveReport> {
    if (this.queues.length === 0) throw new FacepipeError('INTERNAL', 'This pipeline was opened without consumers.');
    const before = new Set((await this.deadLetters.list()).map((d) => d.id));
    const letters = await this.deadLetters.list(queue);
    const report: RedriveReport = {
      sent: { ingest: 0, emotion: 0, recognise: 0 },
      removed: 0,
      deadLetteredAgain: 0,
      unknownQueue: 0,
    };
    const sent: string[] = [];
    for (const letter of letters) {
      const target = this.queues.find((q) => q.name === letter.queue);
      if (!target) {
        report.unknownQueue++;
        continue;
      }
      await target.send(letter.message);
      report.sent[letter.queue as StageQueue]++;
      sent.push(letter.id);
    }
    await this.drained();
    report.removed = await this.deadLetters.remove(sent);
    report.deadLetteredAgain = (await this.deadLetters.list()).filter((d) => !before.has(d.id)).length;
    return report;
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
    const queue = (name: StageQueue) => {
      // The queue's own defaults (QUEUE_DEFAULTS) fill in what is not given.
      const q = new InProcessQueue<ObjectCreatedEvent>(name, {
        ...options.delivery,
        concurrency: options.workers,
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

    const gallery = this.gallery;
    ingest.start(async (event) => {
      const outcome = await detectStage(context, event, { force: options.force });
      this.emit({ type: 'image', key: event.key, outcome });
    });
    emotion.start(async (event) => {
      await emotionStage(context, event);
    });
    recognise.start(async (event) => {
      await recogniseStage(context, gallery, event, this.clusters);
    });
  }

  /** A message the stages gave up on: for an upload, the image is recorded as failed so the user sees it. */
  private async onDeadLetter(deadLetter: StoredDeadLetter<ObjectCreatedEvent>): Promise<void> {
    const { message, queue, reason } = deadLetter;
    if (queue === 'ingest') {
      const failed = await recordGaveUp(this.context, message, {
        reason,
        code: deadLetter.code,
        attempts: deadLetter.receiveCount,
      });
      if (failed?.error) {
        this.emit({
          type: 'image',
          key: message.key,
          outcome: { status: 'failed', imageId: failed.imageId, error: failed.error },
        });
      }
    }
    this.emit({ type: 'dead-letter', queue, reason, message });
  }
}
