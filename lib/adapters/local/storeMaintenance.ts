import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DataDirectory } from './dataDirectory';
import { EmbeddedTable } from './embeddedDynamo';
import { type HeldDataDirectory, holdDataDirectory, storeBusy } from './storeAccess';
import { type RepairSummary, repairTable } from './storeCheck';
import { ShareClient } from './storeSharing';
import { type RestoreSummary, restoreBackup } from './tableBackup';

/**
 * Work that needs the data directory alone, with the table closed: restoring a backup, repairing damaged files.
 * Refused with STORE_BUSY (naming the holder) while another facepipe runs there; other commands started meanwhile
 * are told at once that this one needs it alone.
 */
async function alone<T>(
  dataDir: string,
  command: string,
  notice: ((message: string) => void) | undefined,
  work: (directory: DataDirectory) => Promise<T>,
): Promise<T> {
  const directory = await DataDirectory.prepare(dataDir, notice);
  let held: HeldDataDirectory | undefined;
  try {
    held = await holdDataDirectory(directory, command);
    if (!held) {
      const connection = await ShareClient.connect(directory);
      connection?.close();
      throw storeBusy(
        directory,
        { command, busyAdvice: () => 'Stop it first, then run this command again.' },
        connection?.owner,
      );
    }
    held.server.refuse(`"facepipe ${command}" needs the data directory ${directory.root} alone until it ends`);
    return await work(directory);
  } finally {
    await held?.release();
    directory.release();
  }
}

/** `facepipe store restore`: replaces the table with a backup (see `restoreBackup`). */
export function restoreStore(
  dataDir: string,
  file: string,
  options: { force?: boolean; tableDefinition: CreateTableCommandInput; notice?: (message: string) => void },
): Promise<RestoreSummary> {
  return alone(dataDir, 'store restore', options.notice, (directory) => restoreBackup(directory, file, options));
}

/** `facepipe store repair`: LevelDB's repair on a damaged table (see `repairTable`), then its items counted. */
export function repairStore(
  dataDir: string,
  options: { tableDefinition: CreateTableCommandInput; notice?: (message: string) => void },
): Promise<RepairSummary> {
  return alone(dataDir, 'store repair', options.notice, (directory) =>
    repairTable(directory, async () => {
      const table = await EmbeddedTable.open({
        tableDir: directory.tableDir,
        dataDir: directory.root,
        tableDefinition: options.tableDefinition,
        fresh: false,
      });
      try {
        return await table.forEachItem(() => undefined);
      } finally {
        await table.close();
      }
    }),
  );
}
