import type { FacepipeConfig } from '../../config';
import { FacepipeError } from '../../errors';
import { ClusterCache } from '../../pipeline/clusters';
import type { Recognition } from '../../pipeline/corrections';
import { type ErasureReport, eraseImage } from '../../pipeline/erasure';
import { imageIdOf, parseCropKey, parseFrameKey } from '../../pipeline/ids';
import type { FaceIndex, ObjectCreatedEvent, ObjectStore, ResultsStore, VideoMessage } from '../../pipeline/ports';
import { GalleryCache } from '../../pipeline/recognition';
import { emotionSettled, identitySettled } from '../../pipeline/records';
import { type JobSender, runRecognitionJob } from '../../pipeline/rematch';
import type { Sighting } from '../../pipeline/sightings';
import type { BucketNames, StageContext, StorageContext } from '../../pipeline/stages/context';
import { type DetectOutcome, detectStage, recordGaveUp } from '../../pipeline/stages/detect';
import { emotionStage } from '../../pipeline/stages/emotion';
import { recogniseStage } from '../../pipeline/stages/recognise';
import { type VideoOutcome, videoStage } from '../../pipeline/stages/video';
import { settleFrameGivenUp } from '../../pipeline/videoFrames';
import { FaceAnalyser, type FaceVision } from '../../vision/analyser';
import { VisionPool, type VisionPoolStats } from '../../vision/workers/visionPool';
import { DynamoDeviceRegistry } from '../dynamodb/deviceRegistry';
import { DynamoResultsStore } from '../dynamodb/resultsStore';
import { tableDefinition } from '../dynamodb/schema';
import { TableFaceIndex } from '../dynamodb/tableFaceIndex';
import { DataDirectory } from './dataDirectory';
import { type DeadLetterStore, FileDeadLetterStore, type StoredDeadLetter } from './deadLetterFile';
import { FolderObjectStore } from './folderStore';
import { InProcessQueue, InProcessTopic, type QueueOptions } from './inProcessQueue';
import { JoinedFaceIndex, serveFaceIndex } from './joinedFaceIndex';
import { LocalKeys } from './localKeys';
import { openStore, type StoreAccess } from './storeAccess';
import { checkStore, type StoreCheck } from './storeCheck';
import type { OwnerInfo, ShareOperations } from './storeSharing';
import { type BackupSummary, writeBackup } from './tableBackup';

export const LOCAL_BUCKETS: BucketNames = {
  ingest: 'ingest',
  crops: 'crops',
  thumbnails: 'thumbnails',
  frames: 'frames',
};
export const LOCAL_TABLE = 'facepipe-results';

export type PipelineEvent =
  /** An upload of the ingest bucket is settled: an image, or a video once its tracks are assembled. */
  | { type: 'image'; key: string; outcome: DetectOutcome }
  /** A step of a video's processing (planned, a segment sampled, done, failed). */
  | { type: 'video'; outcome: VideoOutcome }
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
  /**
   * Vision worker threads, each loading the models once: decoding, detection and the models run there while this
   * thread does the stores, the table and the queues (`VisionPool`). 0 (the default here; the CLI gives `--workers`):
   * they run in this thread, as they also do when run from the TypeScript source (the tests), which has no worker
   * script to start (see `visionWorkerScript`).
   */
  visionWorkers?: number;
  /** The vision worker's script, where it is not beside the pool's module (tests that run from the TypeScript source). */
  visionWorkerScript?: string;
  /** Retry settings of the stage queues (defaults: `QUEUE_DEFAULTS` in lib/options.ts). */
  delivery?: Partial<DeliverySettings>;
  /**
   * Wraps the object store the stages see (to inject faults in tests, or to instrument); notifications still come
   * from the folder store underneath.
   */
  wrapStore?: (store: ObjectStore) => ObjectStore;
  /** Wraps the results store the stages see (to instrument: the bench times each call). */
  wrapResults?: (results: ResultsStore) => ResultsStore;
  /**
   * When another facepipe holds the data directory, work through it (its table, its erasure purges) instead of
   * refusing with STORE_BUSY. Only without consumers: the stage queues run in the process that holds it.
   */
  join?: boolean;
  /** The command this pipeline serves (`watch`, `query`...), named in other processes' messages. */
  command?: string;
  /** Said after "Another facepipe is running ..." when this pipeline cannot run beside the one holding the data. */
  busyAdvice?: (owner: OwnerInfo | undefined) => string;
  /** Hears what the user should know (permissions tightened, waiting for other commands to finish). */
  notice?: (message: string) => void;
}

export type DeliverySettings = Required<
  Pick<QueueOptions<unknown>, 'visibilityTimeoutMs' | 'maxReceiveCount' | 'backoffMs'>
>;

/** The queues a dead letter can come from, and be re-driven into. */
export const STAGE_QUEUES = ['ingest', 'emotion', 'recognise', 'video'] as const;
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

/** The largest file the local pipeline reads: an image's limit, or a video's when larger. */
export function maxUploadBytes(config: FacepipeConfig): number {
  return Math.max(config.decode.maxBytes, config.video.maxBytes);
}

/**
 * The pipeline on one machine, with the adapters of the local default: a folder per bucket, in-process queues and
 * topic, the results table in embedded dynalite, dead letters in a JSON-lines file, all under the data directory.
 * The stages are the very ones the AWS handlers call.
 *
 * One process at a time holds the data directory (its lock): it opens the table and runs the queues. It also shares
 * the table with the same user's other facepipe commands over the data directory's private socket; a pipeline
 * opened with `join` while another process holds the data directory works through that one (mode `shared`): its
 * table requests and erasure purges go there, its objects go straight to the bucket folders (safe for concurrent
 * writers: atomic renames).
 */
export class LocalPipeline {
  readonly buckets = LOCAL_BUCKETS;
  readonly dataDir: string;
  /** The ingest keys of local files (`localKeys.ts`). */
  readonly keys: LocalKeys;
  /** The devices allowed to upload and read their own results (`facepipe devices`, `facepipe serve`). */
  readonly devices: DynamoDeviceRegistry;
  /** The gallery the recognise stage and `POST /analyze` share (reloaded when people change). */
  readonly gallery: GalleryCache;
  private readonly listeners: ((event: PipelineEvent) => void)[] = [];
  private readonly queues: InProcessQueue<ObjectCreatedEvent | VideoMessage>[] = [];
  /** Work on videos (when the stages consume). */
  videoQueue: InProcessQueue<VideoMessage> | undefined;
  private analyser: FaceVision | undefined;
  private closed = false;
  /** The clusters, cached for every stage and command of this process. */
  readonly clusters: ClusterCache;
  /** Every described face's embedding (search by face, re-matching). */
  readonly faceIndex: FaceIndex;

  private constructor(
    private readonly directory: DataDirectory,
    private readonly access: StoreAccess,
    readonly store: FolderObjectStore,
    readonly results: DynamoResultsStore,
    readonly deadLetters: FileDeadLetterStore<ObjectCreatedEvent>,
    private readonly stageStore: ObjectStore,
    private readonly stageResults: ResultsStore,
    private readonly notice: (message: string) => void,
    readonly config: FacepipeConfig,
  ) {
    this.dataDir = directory.root;
    this.keys = new LocalKeys(store, this.buckets.ingest);
    this.devices = new DynamoDeviceRegistry(access.client, LOCAL_TABLE);
    this.gallery = new GalleryCache(results);
    this.clusters = new ClusterCache(results);
    // Vector items of the table itself, as on AWS: purged with the table after erasure. A joined command asks the
    // holder's in-memory copy instead of reading every item for itself.
    this.faceIndex =
      access.mode === 'shared'
        ? new JoinedFaceIndex((op, args) => access.connection.call(op, args))
        : new TableFaceIndex(access.client, LOCAL_TABLE);
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
    if (options.join && options.consume !== false) {
      throw new FacepipeError('INTERNAL', 'A pipeline that joins another process cannot run the stage queues.');
    }
    const notice = options.notice ?? (() => {});
    const directory = await DataDirectory.prepare(options.dataDir, notice);
    let access: StoreAccess;
    try {
      access = await openStore(directory, {
        tableDefinition: tableDefinition(LOCAL_TABLE),
        command: options.command ?? (options.consume === false ? 'pipeline' : 'run'),
        join: options.join ?? false,
        busyAdvice: options.busyAdvice,
      });
    } catch (error) {
      directory.release();
      throw error;
    }
    let pipeline: LocalPipeline | undefined;
    try {
      // The store never reads an object over the size limit, not even to hash a file a user dropped in.
      const store = new FolderObjectStore(directory.root, { maxBodyBytes: maxUploadBytes(options.config) });
      const results = new DynamoResultsStore(access.client, LOCAL_TABLE);
      pipeline = new LocalPipeline(
        directory,
        access,
        store,
        results,
        new FileDeadLetterStore<ObjectCreatedEvent>(directory.root),
        options.wrapStore?.(store) ?? store,
        options.wrapResults?.(results) ?? results,
        notice,
        options.config,
      );
      if (access.mode === 'owner') {
        // We hold the data directory, so no other process is writing here: leftovers of a killed run can go.
        await pipeline.store.sweepTemporaryFiles();
        // Other commands are served from now on, not only once the models are loaded.
        access.held.server.serve(pipeline.shareOperations());
      }
      if (options.models !== false) {
        const workers = options.visionWorkers ?? 0;
        const script = options.visionWorkerScript;
        pipeline.analyser =
          workers > 0 && VisionPool.available(script)
            ? await VisionPool.start(options.config, { workers, script })
            : await FaceAnalyser.create(options.config);
      }
      if (options.consume !== false) pipeline.wire(options);
      return pipeline;
    } catch (error) {
      if (pipeline?.analyser instanceof VisionPool) await pipeline.analyser.close();
      await access.close();
      directory.release();
      throw error;
    }
  }

  /** What the vision workers did, when the pipeline has them (`visionWorkers`). */
  visionStats(): VisionPoolStats | undefined {
    return this.analyser instanceof VisionPool ? this.analyser.stats() : undefined;
  }

  /** `owner`: this process holds the data directory; `shared`: it works through the process that does. */
  get mode(): StoreAccess['mode'] {
    return this.access.mode;
  }

  /** The process that holds the data directory, when this pipeline works through it. */
  get owner(): OwnerInfo | undefined {
    return this.access.mode === 'shared' ? this.access.owner : undefined;
  }

  /** The stage context (stores plus the vision core); only when the models were loaded. */
  get context(): StageContext {
    if (!this.analyser) throw new FacepipeError('INTERNAL', 'This pipeline was opened without models.');
    return {
      ...this.storage,
      store: this.stageStore,
      results: this.stageResults,
      analyser: this.analyser,
      uploadTickets: this.devices,
      sightings: { publish: async (sighting: Sighting) => this.emit({ type: 'sighting', sighting }) },
    };
  }

  /** The stores alone (queries, corrections, erasure): also without models. */
  get storage(): StorageContext {
    return {
      store: this.store,
      results: this.results,
      buckets: this.buckets,
      faceIndex: this.faceIndex,
      purgeErased: this.purgeErased,
      ...(this.videoQueue ? { videoQueue: this.videoQueue } : {}),
      videoSettings: this.config,
    };
  }

  /**
   * The erasure hook (`StorageContext.purgeErased`): after an erasure, nothing it erased may be recoverable from the
   * data directory's files. The dead-letter file is rewritten without the dead letters of erased objects (and
   * without removed ones), and the table is rebuilt from its live entries so deleted values leave LevelDB's files
   * (`EmbeddedTable.rebuild`). Runs in the process that holds the data directory.
   */
  readonly purgeErased = async (report: ErasureReport): Promise<void> => {
    if (this.access.mode === 'shared') {
      await this.access.connection.call('purgeErased', report);
      return;
    }
    await this.deadLetters.purge(erasedBy(report, this.buckets));
    await this.access.table.rebuild();
  };

  /** `facepipe store check`: the table's files, every entry read back, the indexes; writes no record. */
  async checkStore(): Promise<StoreCheck> {
    if (this.access.mode === 'shared') return (await this.access.connection.call('checkStore')) as StoreCheck;
    return checkStore(this.directory, this.access.table, async () => (await this.deadLetters.list()).length);
  }

  /** `facepipe store backup`: every item, from one snapshot, to `file` (outside the data directory). */
  async backupStore(file: string): Promise<BackupSummary> {
    if (this.access.mode === 'shared')
      return (await this.access.connection.call('backupStore', { file })) as BackupSummary;
    return writeBackup(this.access.table, file, this.directory);
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
      sent: { ingest: 0, emotion: 0, recognise: 0, video: 0 },
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

  /**
   * Stops receiving, lets the handlers in flight finish, waits for the commands working through this process to
   * end, then closes the table and lets the data directory go. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.queues.map((q) => q.stop()));
    if (this.analyser instanceof VisionPool) await this.analyser.close();
    try {
      if (this.access.mode === 'owner') {
        await this.access.close((sessions) =>
          this.notice(`Waiting for ${sessions} other facepipe command(s) using ${this.dataDir} to finish...`),
        );
      } else {
        await this.access.close();
      }
    } finally {
      this.directory.release();
    }
  }

  /** What this process answers to the commands that work through it (see `storeSharing.ts`). */
  private shareOperations(): ShareOperations {
    if (this.access.mode !== 'owner') return {};
    const { table } = this.access;
    return {
      dynamodb: (args) => {
        const { target, body } = args as { target?: unknown; body?: unknown };
        if (typeof target !== 'string' || typeof body !== 'string') throw new FacepipeError('INTERNAL', 'Bad request.');
        return table.dispatch(target, body);
      },
      purgeErased: (report) => this.purgeErased(report as ErasureReport),
      checkStore: () => this.checkStore(),
      backupStore: (args) => this.backupStore(String((args as { file?: unknown }).file)),
      faceIndex: (args) => serveFaceIndex(this.faceIndex, args),
    };
  }

  private emit(event: PipelineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private wire(options: LocalPipelineOptions): void {
    const queue = <T extends ObjectCreatedEvent | VideoMessage>(name: StageQueue) => {
      // The queue's own defaults (QUEUE_DEFAULTS) fill in what is not given.
      const q = new InProcessQueue<T>(name, {
        ...options.delivery,
        concurrency: options.workers,
        // One dead-letter file for every queue; each letter names its queue.
        deadLetters: this.deadLetters as unknown as DeadLetterStore<T>,
        onDeadLetter: (dl) => this.onDeadLetter(dl as unknown as StoredDeadLetter<ObjectCreatedEvent>),
      });
      this.queues.push(q as unknown as InProcessQueue<ObjectCreatedEvent | VideoMessage>);
      return q;
    };
    const ingest = queue<ObjectCreatedEvent>('ingest');
    const emotion = queue<ObjectCreatedEvent>('emotion');
    const recognise = queue<ObjectCreatedEvent>('recognise');
    const video = queue<VideoMessage>('video');
    this.videoQueue = video;
    const context = this.context;
    const crops = new InProcessTopic<ObjectCreatedEvent>('crop-created');
    crops.subscribe(emotion);
    crops.subscribe(recognise);
    this.store.onObjectCreated(this.buckets.ingest, (event) => ingest.send(event));
    // Sampled video frames go through the detect stage like uploads (on AWS: the frames bucket notifies the ingest queue).
    this.store.onObjectCreated(LOCAL_BUCKETS.frames as string, (event) => ingest.send(event));
    this.store.onObjectCreated(this.buckets.crops, (event) => crops.publish(event));

    const gallery = this.gallery;
    ingest.start(async (event) => {
      const outcome = await detectStage(context, event, { force: options.force });
      // A video's outcome comes once its tracks are assembled; a frame is no upload of its own.
      if (event.bucket === this.buckets.ingest && outcome.status !== 'video') {
        this.emit({ type: 'image', key: event.key, outcome });
      }
    });
    video.start(async (message) => {
      const outcome = await videoStage({ ...context, config: context.analyser.config }, message);
      this.emit({ type: 'video', outcome });
      if (outcome.status === 'done') {
        this.emit({
          type: 'image',
          key: outcome.key,
          outcome: { status: 'done', imageId: outcome.videoId, faces: outcome.faces, facesOmitted: 0 },
        });
      } else if (outcome.status === 'failed') {
        this.emit({
          type: 'image',
          key: outcome.key,
          outcome: { status: 'failed', imageId: outcome.videoId, error: outcome.error },
        });
      }
    });
    emotion.start(async (event) => {
      await emotionStage(context, event);
    });
    recognise.start(async (event) => {
      await recogniseStage(context, gallery, event, this.clusters);
    });
  }

  /** The upload a video message is about (a video's failure is recorded on its upload's record). */
  private async videoUpload(message: VideoMessage): Promise<ObjectCreatedEvent | undefined> {
    if (message.kind !== 'tracks') return { bucket: message.bucket, key: message.key };
    const video = await this.results.getImage(message.videoId);
    return video && { bucket: video.bucket, key: video.key };
  }

  /** A message the stages gave up on: for an upload, the image is recorded as failed so the user sees it. */
  private async onDeadLetter(deadLetter: StoredDeadLetter<ObjectCreatedEvent>): Promise<void> {
    const { queue, reason } = deadLetter;
    const message =
      queue === 'video' ? await this.videoUpload(deadLetter.message as unknown as VideoMessage) : deadLetter.message;
    if (!message) return;
    // A video frame's face given up on: its frame counts as settled, so the video does not wait for a re-drive.
    if (queue === 'emotion' || queue === 'recognise') await settleFrameGivenUp(this.context, message.key);
    if (queue === 'ingest' || queue === 'video') {
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

/**
 * The dead letters an erasure makes unwanted: those of an erased object, of any object of an erased image (its
 * crops carry its id), and those whose reason names an erased upload's key.
 */
function erasedBy(report: ErasureReport, buckets: typeof LOCAL_BUCKETS) {
  const objects = new Set(report.objects.map((object) => `${object.bucket}\n${object.key}`));
  const uploads = report.objects.filter((object) => object.bucket === buckets.ingest).map((object) => object.key);
  const images = new Set(uploads.map((key) => imageIdOf(buckets.ingest, key)));
  for (const item of report.items) {
    // An image, a video or a frame sampled from one (`erasure.ts` names each so).
    const image = /^(?:image|video|frame) ([0-9a-f]{24})$/.exec(item)?.[1];
    if (image) images.add(image);
  }
  return (deadLetter: StoredDeadLetter<ObjectCreatedEvent | VideoMessage>) => {
    const { message } = deadLetter;
    // A video's messages: its planning and segments name its upload, its assembly its id.
    if ('kind' in message && message.kind === 'tracks') return images.has(message.videoId);
    const { bucket, key } = message;
    if (objects.has(`${bucket}\n${key}`)) return true;
    if (bucket === buckets.ingest && images.has(imageIdOf(bucket, key))) return true;
    // A frame of an erased video, also one whose object was never written or is gone already.
    const frame = bucket === buckets.frames ? parseFrameKey(key) : undefined;
    if (frame && (images.has(frame.videoId) || images.has(imageIdOf(bucket, key)))) return true;
    const crop = parseCropKey(key);
    if (crop && images.has(crop.imageId)) return true;
    return uploads.some((upload) => deadLetter.reason.includes(upload));
  };
}
