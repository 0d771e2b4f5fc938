import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileDeadLetterStore, type StoredDeadLetter } from '../../../../../lib/adapters/local/deadLetterFile';
import { InProcessQueue, InProcessTopic, type QueueOptions } from '../../../../../lib/adapters/local/inProcessQueue';
import { FacepipeError } from '../../../../../lib/errors';
import { eventually, ManualClock } from '../../../../helpers/manualClock';

interface Job {
  n: number;
}

// A queue bug tends to hang rather than fail; fail fast instead.
jest.setTimeout(10_000);

const tempRoots: string[] = [];
function tempDataDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-queue-'));
  tempRoots.push(root);
  return root;
}
afterAll(() => {
  for (const root of tempRoots) fs.rmSync(root, { recursive: true, force: true });
});

// Every queue of a test runs on the test's clock: time moves only when the test moves it.
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});

const queues: InProcessQueue<Job>[] = [];
function queue(options: Partial<QueueOptions<Job>> = {}, name = 'jobs'): InProcessQueue<Job> {
  const created = new InProcessQueue<Job>(name, {
    deadLetters: new FileDeadLetterStore(tempDataDir()),
    clock,
    ...options,
  });
  queues.push(created);
  return created;
}
afterEach(async () => {
  await clock.run(Promise.all(queues.splice(0).map((q) => q.stop())));
});

function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('InProcessQueue delivery', () => {
  it('delivers every message and resolves drained() once the last handler is done', async () => {
    // Prepare
    const jobs = queue({ concurrency: 2 });
    const handled: number[] = [];
    await expect(jobs.drained()).resolves.toBeUndefined();
    for (let n = 0; n < 5; n++) await jobs.send({ n });

    // Act
    jobs.start(async (job) => {
      await clock.sleep(5);
      handled.push(job.n);
    });
    await clock.run(jobs.drained());

    // Assess
    expect(handled.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(jobs.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, deadLettered: 0, delivered: 5 });
  });

  it('delivers again, to another worker, a message whose handler outlives the visibility timeout', async () => {
    // Prepare
    const jobs = queue({ concurrency: 2, visibilityTimeoutMs: 100, maxReceiveCount: 5 });
    const slowFirst = gate();
    const deliveries: number[] = [];
    jobs.start(async (_job, { receiveCount }) => {
      deliveries.push(receiveCount);
      if (receiveCount === 1) await slowFirst.opened;
    });

    // Act
    await jobs.send({ n: 1 });
    await clock.advance(100);
    await eventually(() => jobs.stats().delivered === 1);
    const whileFirstStillRuns = [...deliveries];
    slowFirst.open();
    await jobs.drained();

    // Assess
    expect(whileFirstStillRuns).toEqual([1, 2]);
    expect(deliveries).toEqual([1, 2]);
    expect(jobs.stats()).toMatchObject({ delivered: 1, deadLettered: 0 });
  });

  it('deletes a message only when the handler that finishes holds its latest receipt', async () => {
    // Prepare
    const jobs = queue({ concurrency: 2, visibilityTimeoutMs: 150, maxReceiveCount: 5 });
    const first = gate();
    const second = gate();
    const deliveries: number[] = [];
    jobs.start(async (_job, { receiveCount }) => {
      deliveries.push(receiveCount);
      await (receiveCount === 1 ? first.opened : second.opened);
    });
    await jobs.send({ n: 1 });
    await clock.advance(150);
    await eventually(() => deliveries.length === 2);

    // Act
    first.open();
    await clock.advance(10);
    const afterStaleSuccess = jobs.stats();
    second.open();
    await jobs.drained();

    // Assess
    expect(afterStaleSuccess).toMatchObject({ inFlight: 1, delivered: 0 });
    expect(jobs.stats()).toMatchObject({ inFlight: 0, delivered: 1 });
    expect(deliveries).toEqual([1, 2]);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    // Prepare
    const jobs = queue({ concurrency: 3 });
    let running = 0;
    let mostAtOnce = 0;
    for (let n = 0; n < 12; n++) await jobs.send({ n });

    // Act
    jobs.start(async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await clock.sleep(10);
      running -= 1;
    });
    await clock.run(jobs.drained());

    // Assess
    expect(mostAtOnce).toBe(3);
    expect(jobs.stats().delivered).toBe(12);
  });

  it('stop() waits for the handlers under way and delivers nothing more until started again', async () => {
    // Prepare
    const jobs = queue({ concurrency: 1 });
    const finished: number[] = [];
    const handler = async (job: Job) => {
      await clock.sleep(50);
      finished.push(job.n);
    };
    await jobs.send({ n: 1 });
    await jobs.send({ n: 2 });
    jobs.start(handler);

    // Act
    await clock.advance(5);
    await clock.run(jobs.stop());
    const afterStop = { finished: [...finished], stats: jobs.stats() };
    jobs.start(handler);
    await clock.run(jobs.drained());

    // Assess
    expect(afterStop).toEqual({
      finished: [1],
      stats: { visible: 1, inFlight: 0, delayed: 0, deadLettered: 0, delivered: 1 },
    });
    expect(finished).toEqual([1, 2]);
  });

  it('refuses options that cannot work', () => {
    // Act, Assess
    expect(() => queue({ concurrency: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => queue({ maxReceiveCount: 0 })).toThrow(/maxReceiveCount/);
  });
});

describe('InProcessQueue retries and dead letters', () => {
  it('retries with exponential backoff, then dead-letters the message with the last error', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const told: StoredDeadLetter<Job>[] = [];
    const jobs = queue({
      deadLetters: new FileDeadLetterStore(dataDir),
      maxReceiveCount: 3,
      backoffMs: 40,
      visibilityTimeoutMs: 5000,
      // The shortest delays the jitter allows: half the backoff.
      jitter: () => 0,
      onDeadLetter: (deadLetter) => {
        told.push(deadLetter);
      },
    });
    const deliveredAt: number[] = [];
    jobs.start(async (_job, { receiveCount }) => {
      deliveredAt.push(clock.now());
      throw new FacepipeError('INTERNAL', `model session crashed (attempt ${receiveCount})`);
    });

    // Act
    await jobs.send({ n: 7 });
    await clock.run(jobs.drained());

    // Assess
    expect(deliveredAt).toHaveLength(3);
    const [first = 0, second = 0, third = 0] = deliveredAt;
    expect(second - first).toBeGreaterThanOrEqual(19); // 40 ms with equal jitter: 20 to 40
    expect(third - second).toBeGreaterThanOrEqual(39); // 80 ms: 40 to 80
    const stored = await new FileDeadLetterStore<Job>(dataDir).list('jobs');
    expect(stored).toEqual([
      {
        id: expect.any(String),
        queue: 'jobs',
        message: { n: 7 },
        reason: 'model session crashed (attempt 3)',
        code: 'INTERNAL',
        receiveCount: 3,
        failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    expect(told).toEqual(stored);
    expect(jobs.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, deadLettered: 1, delivered: 0 });
  });

  it('dead-letters a message whose handlers never finish within the visibility timeout', async () => {
    // Prepare
    const hang = gate();
    const deliveries: number[] = [];
    const told: StoredDeadLetter<Job>[] = [];
    const deadLetters = new FileDeadLetterStore<Job>(tempDataDir());
    const watched = queue({
      deadLetters,
      concurrency: 3,
      visibilityTimeoutMs: 30,
      maxReceiveCount: 2,
      onDeadLetter: (deadLetter) => {
        told.push(deadLetter);
      },
    });
    watched.start(async (_job, { receiveCount }) => {
      deliveries.push(receiveCount);
      await hang.opened;
    });

    // Act
    await watched.send({ n: 1 });
    await clock.advance(60);
    await eventually(() => watched.stats().deadLettered === 1);
    hang.open();
    await clock.run(watched.drained());

    // Assess
    expect(deliveries).toEqual([1, 2]);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ receiveCount: 2, reason: expect.stringContaining('visibility timeout') });
    expect(watched.stats()).toMatchObject({ delivered: 0, deadLettered: 1 });
    await expect(deadLetters.list()).resolves.toEqual(told);
  });

  it('keeps dead letters across store instances, removes them by id and skips a line torn by a crash', async () => {
    // Prepare
    const dataDir = tempDataDir();
    const letter = (id: string, queueName: string): StoredDeadLetter<Job> => ({
      id,
      queue: queueName,
      message: { n: 1 },
      reason: 'bad',
      receiveCount: 3,
      failedAt: '2026-01-01T00:00:00.000Z',
    });
    const before = new FileDeadLetterStore<Job>(dataDir);
    await before.add(letter('a', 'detect'));
    await before.add(letter('b', 'emotion'));
    fs.appendFileSync(path.join(dataDir, 'dead-letters.jsonl'), '{"id":"torn","que');

    // Act
    const after = new FileDeadLetterStore<Job>(dataDir);
    await after.add(letter('c', 'detect'));
    const removed = await after.remove(['a', 'not-there']);
    const reopened = new FileDeadLetterStore<Job>(dataDir);

    // Assess
    expect(removed).toBe(1);
    await expect(reopened.list()).resolves.toEqual([letter('b', 'emotion'), letter('c', 'detect')]);
    await expect(reopened.list('detect')).resolves.toEqual([letter('c', 'detect')]);
    await expect(new FileDeadLetterStore(tempDataDir()).list()).resolves.toEqual([]);
  });
});

describe('InProcessTopic', () => {
  it('fans each message out to every subscribed queue, each with its own copy', async () => {
    // Prepare
    const topic = new InProcessTopic<Job>('crops');
    const emotion = queue({}, 'emotion');
    const recognise = queue({}, 'recognise');
    topic.subscribe(emotion);
    topic.subscribe(recognise);
    const received: Record<string, Job[]> = { emotion: [], recognise: [] };
    emotion.start(async (job) => {
      received.emotion?.push({ ...job });
      job.n = -1;
    });
    recognise.start(async (job) => {
      await clock.sleep(5);
      received.recognise?.push(job);
    });

    // Act
    await topic.publish({ n: 1 });
    await topic.publish({ n: 2 });
    await clock.run(Promise.all([emotion.drained(), recognise.drained()]));

    // Assess
    expect(received).toEqual({ emotion: [{ n: 1 }, { n: 2 }], recognise: [{ n: 1 }, { n: 2 }] });
  });
});
