import path from 'node:path';
import { LocalPipeline, type LocalPipelineOptions } from '../lib/adapters/local/localPipeline';
import type { OwnerInfo } from '../lib/adapters/local/storeSharing';
import type { FacepipeConfig } from '../lib/config';

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
 * For commands that run the stage queues (`run`, `watch`, `dead-letters redrive`): one process at a time may, so
 * while another facepipe runs on the data directory they are refused, saying what to do instead.
 */
export function openRunning(
  command: 'run' | 'watch' | 'dead-letters redrive',
  options: Omit<LocalPipelineOptions, 'command' | 'busyAdvice' | 'notice' | 'join'>,
): Promise<LocalPipeline> {
  const ingest = path.join(path.resolve(options.dataDir), 'buckets', 'ingest');
  const busyAdvice = (owner: OwnerInfo | undefined) => {
    const watching = owner?.command === 'watch';
    if (command === 'run' && watching) {
      return `It processes what arrives in its ingest folder: copy the files into ${ingest} (they are processed as they arrive), or stop it and run this again.`;
    }
    if (command === 'watch' && watching) return `It watches already: drop files into ${ingest}.`;
    return (
      'Only one facepipe at a time runs the pipeline on a data directory: wait until it ends (or stop it), then run ' +
      'this again. Meanwhile query, people, delete and store check work beside it.'
    );
  };
  return LocalPipeline.open({ ...options, command, busyAdvice, notice });
}
