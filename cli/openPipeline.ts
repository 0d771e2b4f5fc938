import path from 'node:path';
import { LocalPipeline, type LocalPipelineOptions } from '../lib/adapters/local/localPipeline';
import type { OwnerInfo } from '../lib/adapters/local/storeSharing';
import type { FacepipeConfig } from '../lib/config';
import { QUEUE_DEFAULTS, stageMessagesFor } from '../lib/options';

/** What the local store wants the user to know (permissions tightened, waiting for other commands). */
export const notice = (message: string) => process.stderr.write(`facepipe: ${message}\n`);

/**
 * For commands that read, enrol or erase (`query`, `people ...`, `delete`, `dead-letters list`, `store check`,
 * `store backup`): when another facepipe already runs on the data directory, they work through it.
 */
export function openJoined(
  command: string,
  dataDir: string,
  config: FacepipeConfig,
  options: { models?: boolean } = {},
): Promise<LocalPipeline> {
  return LocalPipeline.open({
    dataDir,
    config,
    consume: false,
    models: options.models ?? false,
    join: true,
    command,
    notice,
  });
}

/**
 * For commands that run the stage queues (`run`, `watch`, `serve`, `dead-letters redrive`): one process at a time may,
 * so while another facepipe runs on the data directory they are refused, saying what to do instead. `workers` is the
 * `--workers` flag: vision worker threads, and the messages each stage handles at once for them (`stageMessagesFor`).
 */
export function openRunning(
  command: 'run' | 'watch' | 'serve' | 'dead-letters redrive',
  options: Omit<LocalPipelineOptions, 'command' | 'busyAdvice' | 'notice' | 'join'>,
): Promise<LocalPipeline> {
  const ingest = path.join(path.resolve(options.dataDir), 'buckets', 'ingest');
  const busyAdvice = (owner: OwnerInfo | undefined) => {
    // serve runs the watch loop too.
    const watching = owner?.command === 'watch' || owner?.command === 'serve';
    if (command === 'run' && watching) {
      return `It processes what arrives in its ingest folder: copy the files into ${ingest} (they are processed as they arrive), or stop it and run this again.`;
    }
    if ((command === 'watch' || command === 'serve') && watching) {
      return `It watches already: drop files into ${ingest}${owner?.command === 'serve' ? ', or use its API' : ''}.`;
    }
    return (
      'Only one facepipe at a time runs the pipeline on a data directory: wait until it ends (or stop it), then run ' +
      'this again. Meanwhile query, people, devices, delete and store check work beside it.'
    );
  };
  // The models run in worker threads, one per --workers, so both cores work while this thread does the I/O; each
  // stage keeps several messages per worker in flight, so a worker has its next job while one waits for the I/O.
  const visionWorkers = options.visionWorkers ?? options.workers ?? QUEUE_DEFAULTS.concurrency;
  const workers = stageMessagesFor(visionWorkers);
  return LocalPipeline.open({ ...options, workers, visionWorkers, command, busyAdvice, notice });
}
