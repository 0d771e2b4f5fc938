import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FacepipeError } from '../../errors';
import { DataDirectory } from './dataDirectory';
import { EmbeddedTable } from './embeddedDynamo';
import { localDocumentClient } from './localRequestHandler';
import { type OwnerLock, tryOwnerLock } from './ownerLock';
import { describeOwner, type OwnerInfo, ShareClient, ShareServer } from './storeSharing';
import { checkTableFiles } from './tableFiles';
import { finishInterruptedSwap } from './tableFolder';

/** How long a command waits for a process that holds the lock to start answering on its socket. */
const OWNER_ANSWER_TIMEOUT_MS = 60_000;

/** This process holds the data directory: its lock, and the socket on which it shares it. */
export interface HeldDataDirectory {
  readonly directory: DataDirectory;
  readonly server: ShareServer;
  /** Stops sharing (after the processes working through this one are done), then lets the lock go. */
  release(waiting?: (sessions: number) => void): Promise<void>;
}

/** The table, opened by this process (it holds the data directory), or reached through the process that does. */
export type StoreAccess = OwnedStore | SharedStore;

export interface OwnedStore {
  readonly mode: 'owner';
  readonly held: HeldDataDirectory;
  readonly table: EmbeddedTable;
  readonly client: DynamoDBDocumentClient;
  close(waiting?: (sessions: number) => void): Promise<void>;
}

export interface SharedStore {
  readonly mode: 'shared';
  readonly owner: OwnerInfo;
  readonly connection: ShareClient;
  readonly client: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export interface StoreAccessOptions {
  tableDefinition: CreateTableCommandInput;
  /** The command this process runs, for other processes' messages. */
  command: string;
  /** Work through the owner when another process holds the data directory, instead of refusing. */
  join: boolean;
  /** Said after "Another facepipe is running ..." when this command cannot run beside it. */
  busyAdvice?: (owner: OwnerInfo | undefined) => string;
}

/**
 * Takes the data directory's lock, or returns undefined when another process holds it. Holding it, the process
 * listens on the data directory's socket at once (answering once it is ready) and finishes a table swap (restore,
 * purge) a killed process left half done.
 */
export async function holdDataDirectory(
  directory: DataDirectory,
  command: string,
): Promise<HeldDataDirectory | undefined> {
  const lock: OwnerLock | undefined = await tryOwnerLock(directory);
  if (!lock) return undefined;
  try {
    const server = await ShareServer.listen(directory, command);
    try {
      await finishInterruptedSwap(directory.tableDir);
    } catch (error) {
      await server.close();
      throw error;
    }
    return {
      directory,
      server,
      release: async (waiting) => {
        await server.close(waiting);
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * Opens the results table: as its owner when the data directory is free (the lock first, then the files checked,
 * then LevelDB opened, so no other process can slip in between), else through the owner when `join`, else
 * STORE_BUSY naming the owner and what to do.
 */
export async function openStore(directory: DataDirectory, options: StoreAccessOptions): Promise<StoreAccess> {
  const started = Date.now();
  for (;;) {
    const held = await holdDataDirectory(directory, options.command);
    if (held) {
      try {
        const files = await checkTableFiles(directory.tableDir);
        const table = await EmbeddedTable.open({
          tableDir: directory.tableDir,
          dataDir: directory.root,
          tableDefinition: options.tableDefinition,
          fresh: files.fresh,
        });
        return {
          mode: 'owner',
          held,
          table,
          client: table.client,
          close: async (waiting) => {
            try {
              await held.server.close(waiting);
              await table.close();
            } finally {
              await held.release();
            }
          },
        };
      } catch (error) {
        // Processes waiting for this one are let go: they look at the lock again and find out for themselves.
        await held.release();
        throw error;
      }
    }
    const connection = await ShareClient.connect(directory);
    if (connection?.owner) {
      if (options.join && connection.owner.shares) {
        const { client, destroy } = localDocumentClient(
          (target, body) => connection.call('dynamodb', { target, body }) as ReturnType<EmbeddedTable['dispatch']>,
        );
        return {
          mode: 'shared',
          owner: connection.owner,
          connection,
          client,
          close: async () => {
            destroy();
            connection.close();
          },
        };
      }
      connection.close();
      throw storeBusy(directory, options, connection.owner);
    }
    if (!options.join) throw storeBusy(directory, options, undefined);
    if (Date.now() - started > OWNER_ANSWER_TIMEOUT_MS) {
      throw new FacepipeError(
        'STORE_BUSY',
        `Another process holds the data directory ${directory.root} but has not answered on its socket ` +
          `(${directory.socketPath}) for ${OWNER_ANSWER_TIMEOUT_MS / 1000} s. Is an older facepipe running there? ` +
          'Stop it and run the command again.',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function storeBusy(
  directory: DataDirectory,
  options: Pick<StoreAccessOptions, 'command' | 'busyAdvice'>,
  owner: OwnerInfo | undefined,
): FacepipeError {
  const who = owner ? ` (${describeOwner(owner)})` : '';
  const alone = owner && !owner.shares;
  const advice =
    options.busyAdvice?.(owner) ??
    (alone ? 'Wait until it ends.' : 'Wait until it ends, or stop it, or give this one a different --data-dir.');
  return new FacepipeError(
    'STORE_BUSY',
    `Another facepipe is running on the data directory ${directory.root}${who}` +
      (alone ? ' and needs it alone. ' : `, and "facepipe ${options.command}" cannot run beside it. `) +
      advice,
  );
}

export interface LocalTable {
  client: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** The results table of a data directory on its own, held by this process (for tools and tests). */
export async function openLocalTable(dataDir: string, tableDefinition: CreateTableCommandInput): Promise<LocalTable> {
  const directory = await DataDirectory.prepare(dataDir);
  let access: StoreAccess;
  try {
    access = await openStore(directory, { tableDefinition, command: 'table', join: false });
  } catch (error) {
    directory.release();
    throw error;
  }
  if (access.mode === 'owner') {
    const { table } = access;
    access.held.server.serve({
      dynamodb: (args) => {
        const { target, body } = args as { target: string; body: string };
        return table.dispatch(target, body);
      },
    });
  }
  return {
    client: access.client,
    close: async () => {
      try {
        await access.close();
      } finally {
        directory.release();
      }
    },
  };
}
