import type { FaceAnalyzer } from '../../analyzer';
import type { ObjectStore } from '../ports';
import type { ResultsTable } from '../table/resultsTable';

export interface BucketNames {
  ingest: string;
  crops: string;
  thumbnails: string;
}

/** What every stage needs: the adapters behind the ports, and the vision core. */
export interface StageContext {
  store: ObjectStore;
  table: ResultsTable;
  analyzer: FaceAnalyzer;
  buckets: BucketNames;
  now?: () => Date;
}

export const nowIso = (context: StageContext) => (context.now?.() ?? new Date()).toISOString();

/** The stores alone, for work that needs no models (queries, erasure). */
export type StorageContext = Pick<StageContext, 'store' | 'table' | 'buckets'>;
