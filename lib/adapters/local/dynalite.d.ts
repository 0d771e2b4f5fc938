/** The part of dynalite's API facepipe uses (dynalite ships no type declarations). */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB folder; in memory when absent. */
    path?: string;
    /** How long a table stays CREATING, DELETING or UPDATING (default 500 ms each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  /** An HTTP server speaking the DynamoDB API; `close` also closes the LevelDB store. */
  function dynalite(options?: DynaliteOptions): Server;

  export = dynalite;
}
