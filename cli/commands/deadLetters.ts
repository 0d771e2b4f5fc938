import type { StoredDeadLetter } from '../../lib/adapters/local/deadLetterFile';
import { type PipelineEvent, STAGE_QUEUES, type StageQueue } from '../../lib/adapters/local/localPipeline';
import type { FacepipeConfig } from '../../lib/config';
import { FacepipeError } from '../../lib/errors';
import type { ObjectCreatedEvent } from '../../lib/pipeline/ports';
import { jsonLine, printable, quoteValue } from '../../lib/printable';
import { openJoined, openRunning } from '../openPipeline';

export interface DeadLetterFlags {
  dataDir: string;
  json?: boolean;
  queue?: string;
}

function queueOrThrow(queue: string | undefined): StageQueue | undefined {
  if (queue === undefined || (STAGE_QUEUES as readonly string[]).includes(queue)) return queue as StageQueue;
  throw new FacepipeError(
    'INVALID_OPTION',
    `--queue must be one of ${STAGE_QUEUES.join(', ')}, got ${quoteValue(queue)}.`,
  );
}

function countByQueue(letters: readonly StoredDeadLetter<ObjectCreatedEvent>[]): string {
  return STAGE_QUEUES.map((q) => `${q} ${letters.filter((l) => l.queue === q).length}`).join(', ');
}

/** `facepipe dead-letters list`: the messages the stages gave up on, oldest first, with the last error. */
export async function listDeadLettersCommand(flags: DeadLetterFlags, config: FacepipeConfig): Promise<number> {
  const queue = queueOrThrow(flags.queue);
  const pipeline = await openJoined('dead-letters list', flags.dataDir, config);
  try {
    const letters = await pipeline.deadLetters.list(queue);
    for (const letter of letters) {
      const { id, queue: from, message, reason, code, receiveCount, failedAt } = letter;
      process.stdout.write(
        flags.json
          ? jsonLine({
              id,
              queue: from,
              bucket: message.bucket,
              key: message.key,
              code: code ?? null,
              reason,
              receiveCount,
              failedAt,
            })
          : `${failedAt}  ${from.padEnd(9)} ${message.bucket}/${printable(message.key)}  after ${receiveCount} attempt(s): ` +
              `${printable(code && !reason.startsWith(code) ? `${code}: ${reason}` : reason)}\n`,
      );
    }
    if (!flags.json) process.stdout.write(`${letters.length} dead letter(s) (${countByQueue(letters)})\n`);
    return 0;
  } finally {
    await pipeline.close();
  }
}

/**
 * `facepipe dead-letters redrive`: sends the dead letters back into their queues through the whole pipeline and
 * removes each once it has been handled. Exit code 1 when some failed again (they are dead letters again).
 */
export async function redriveDeadLettersCommand(
  flags: DeadLetterFlags & { workers?: number },
  config: FacepipeConfig,
): Promise<number> {
  const queue = queueOrThrow(flags.queue);
  const pipeline = await openRunning('dead-letters redrive', {
    dataDir: flags.dataDir,
    config,
    workers: flags.workers,
  });
  const images = { done: 0, failed: 0, skipped: 0 };
  const failures: string[] = [];
  pipeline.on((event: PipelineEvent) => {
    if (event.type !== 'image') return;
    const { outcome } = event;
    images[outcome.status]++;
    if (outcome.status === 'failed') failures.push(`${event.key}: ${outcome.error.code}: ${outcome.error.message}`);
  });
  try {
    const report = await pipeline.redrive(queue);
    const sent = STAGE_QUEUES.reduce((n, q) => n + report.sent[q], 0);
    if (flags.json) {
      process.stdout.write(jsonLine({ ...report, resent: sent, images }));
    } else {
      process.stdout.write(
        `re-drove ${sent} dead letter(s) (${STAGE_QUEUES.map((q) => `${q} ${report.sent[q]}`).join(', ')}): ` +
          `${report.removed} removed, ${report.deadLetteredAgain} failed again; images: ${images.done} done, ` +
          `${images.failed} failed, ${images.skipped} unchanged or gone\n`,
      );
      for (const failure of failures) process.stdout.write(`  failed: ${printable(failure)}\n`);
      if (report.unknownQueue > 0) {
        process.stdout.write(`  ${report.unknownQueue} dead letter(s) of an unknown queue were left as they are\n`);
      }
    }
    return report.deadLetteredAgain > 0 || images.failed > 0 ? 1 : 0;
  } finally {
    await pipeline.close();
  }
}
