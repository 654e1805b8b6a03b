import { MongoClient, type AnyBulkWriteOperation, type BulkWriteOptions, type Collection, type Db, type Document, type Filter } from 'mongodb';
import type { AssignmentDoc, DigestDoc, EventDoc, JobDoc, LeaderboardDoc, ProviderBatchDoc, ResultDoc, SampleDoc, SessionDoc } from './documents';
import type { EndpointDoc, EndpointLeaseDoc } from './endpoint-limits';
import type { SpendDoc } from './spend';

/** The collections evalctl uses, opened from one client. */
export interface Store {
  client: MongoClient;
  db: Db;
  assignments: Collection<AssignmentDoc>;
  jobs: Collection<JobDoc>;
  samples: Collection<SampleDoc>;
  results: Collection<ResultDoc>;
  events: Collection<EventDoc>;
  leaderboards: Collection<LeaderboardDoc>;
  /** Live environment sessions of agent tasks (`evalctl sessions`). */
  sessions: Collection<SessionDoc>;
  /** Provider batches of jobs in provider batch mode, by key (`evalctl status` lists them). */
  providerBatches: Collection<ProviderBatchDoc>;
  /** Finished jobs' digests for the viewer, in parts read by `_id` (src/store/digests.ts). */
  digests: Collection<DigestDoc>;
  /** Shared adaptive concurrency limits, one document per endpoint (src/store/endpoint-limits.ts). */
  endpoints: Collection<EndpointDoc>;
  /** Places of calls in flight at adaptive endpoints, one document per place. */
  endpointLeases: Collection<EndpointLeaseDoc>;
  /** What assignments spent on model calls, one counter per (assignment, worker process) (src/store/spend.ts). */
  spend: Collection<SpendDoc>;
  /** FerretDB answers only `_id` equality from an index; other filters scan, so hot paths differ. */
  flavor: 'mongodb' | 'ferretdb';
  /**
   * `{_id: {$in: ids}}` is answered from the `_id` index: on MongoDB, and on evalctl's build of FerretDB
   * (its reported version carries the build's mark); other FerretDB builds scan for it.
   */
  idsIn: boolean;
  close(): Promise<void>;
}

/** What evalctl's FerretDB build adds to the version it reports (`ferretdbVersion` of `buildInfo`). */
export const FERRETDB_BUILD_MARK = '-evalctl';

/** Default database when the URL names none. */
export const DEFAULT_DB = 'evalctl';

/**
 * Opens the one MongoDB client of this process and makes sure the indexes exist. Only what both MongoDB
 * and FerretDB support is used: unique and compound indexes, upserts, no transactions.
 */
export async function openStore(url: string, options: { ensureIndexes?: boolean } = {}): Promise<Store> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 10_000,
    // Writes are idempotent upserts, so the driver may retry them after a dropped connection.
    retryWrites: false,
    retryReads: true,
  });
  await client.connect();
  const db = client.db(dbNameOf(url));
  const info = await db.admin().command({ buildInfo: 1 }).catch(() => ({}) as Document);
  const store: Store = {
    client,
    db,
    assignments: db.collection<AssignmentDoc>('assignments'),
    jobs: db.collection<JobDoc>('jobs'),
    samples: db.collection<SampleDoc>('samples'),
    results: db.collection<ResultDoc>('results'),
    events: db.collection<EventDoc>('events'),
    leaderboards: db.collection<LeaderboardDoc>('leaderboards'),
    sessions: db.collection<SessionDoc>('sessions'),
    providerBatches: db.collection<ProviderBatchDoc>('providerBatches'),
    digests: db.collection<DigestDoc>('digests'),
    endpoints: db.collection<EndpointDoc>('endpoints'),
    endpointLeases: db.collection<EndpointLeaseDoc>('endpointLeases'),
    spend: db.collection<SpendDoc>('spend'),
    flavor: 'ferretdbVersion' in info ? 'ferretdb' : 'mongodb',
    idsIn: !('ferretdbVersion' in info) || String(info.ferretdbVersion).includes(FERRETDB_BUILD_MARK),
    close: () => client.close(),
  };
  if (options.ensureIndexes !== false) await ensureIndexes(store);
  return store;
}

/** The database named in a MongoDB URL's path, or the default one. */
export function dbNameOf(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]*)/.exec(url);
  const name = match?.[1] ? decodeURIComponent(match[1]) : '';
  return name || DEFAULT_DB;
}

/** Indexes declared in code; creating an existing index is a no-op. */
export async function ensureIndexes(store: Store): Promise<void> {
  await Promise.all([
    store.assignments.createIndex({ status: 1, createdAt: -1 }, { name: 'status_createdAt' }),
    store.jobs.createIndex({ assignmentId: 1 }, { name: 'assignmentId' }),
    store.samples.createIndex({ assignmentId: 1, jobId: 1, index: 1 }, { name: 'assignment_job_index', unique: true }),
    store.samples.createIndex({ assignmentId: 1, status: 1 }, { name: 'assignment_status' }),
    store.results.createIndex({ inferenceKey: 1, finishedAt: -1 }, { name: 'inferenceKey_finishedAt' }),
    store.results.createIndex({ status: 1 }, { name: 'status' }),
    store.events.createIndex({ assignmentId: 1, at: 1 }, { name: 'assignment_at' }),
    // Leaderboard rebuilds read the completed jobs of one task; `leaderboard` lists boards by recency.
    store.jobs.createIndex({ taskId: 1, status: 1 }, { name: 'task_status' }),
    store.leaderboards.createIndex({ updatedAt: -1 }, { name: 'updatedAt' }),
    store.providerBatches.createIndex({ assignmentId: 1 }, { name: 'assignmentId' }),
    // Budget checks sum one assignment's spend counters before every call.
    store.spend.createIndex({ assignmentId: 1 }, { name: 'assignmentId' }),
    // Every claim of a place at an adaptive endpoint reads that endpoint's leases.
    store.endpointLeases.createIndex({ endpoint: 1 }, { name: 'endpoint' }),
  ]);
}

/**
 * Indexes of the results viewer's queries (`evalctl view` creates them at start): the assignment list,
 * newest first, and the results of an assignment for text search. Only on MongoDB: FerretDB answers only
 * `{_id: value}` from an index, so there they would slow every write and speed up no read.
 */
export async function ensureViewerIndexes(store: Store): Promise<void> {
  if (store.flavor === 'ferretdb') return;
  await Promise.all([
    store.assignments.createIndex({ createdAt: -1, _id: -1 }, { name: 'createdAt_id' }),
    store.results.createIndex({ assignments: 1 }, { name: 'assignments' }),
  ]);
}

/** Ids per `$in` query (evalctl's FerretDB build reads at most 1,000 from its index at once). */
const IDS_PER_QUERY = 500;

/**
 * Documents by `_id`, in `$in` queries where those are read from the index (`idsIn`), else as parallel
 * `_id`-only lookups: other FerretDB builds answer from an index only a filter that is exactly
 * `{_id: value}` and scan the whole collection for anything else, a cost that grows with every document.
 */
export async function findByIds<T extends { _id: string }>(
  store: Pick<Store, 'idsIn'>, collection: Collection<T>, ids: readonly string[], projection?: Document,
): Promise<T[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  if (store.idsIn) {
    const found: T[] = [];
    for (let i = 0; i < unique.length; i += IDS_PER_QUERY) {
      found.push(...((await collection.find({ _id: { $in: unique.slice(i, i + IDS_PER_QUERY) } } as Filter<T>, { projection }).toArray()) as T[]));
    }
    return found;
  }
  const found: T[] = [];
  for (let i = 0; i < unique.length; i += 32) {
    const page = await Promise.all(unique.slice(i, i + 32).map((id) => collection.findOne({ _id: id } as Filter<T>, { projection })));
    for (const doc of page) if (doc) found.push(doc as T);
  }
  return found;
}

/**
 * Update operations per bulk write on FerretDB. Released FerretDB 1.24 keeps each update's query open
 * until the whole command ends, and its SQLite pool has 100 connections: a bulk write of more updates
 * than that waits forever for a connection, and every other client with it. evalctl's own build is
 * patched (src/dev/tools.ts); the parts keep other builds of it (a FerretDB you run yourself) clear of it.
 */
export const FERRETDB_UPDATES_PER_WRITE = 50;

/**
 * A bulk write, split into writes of at most FERRETDB_UPDATES_PER_WRITE operations on FerretDB. Every part
 * is attempted; afterwards the first error that is not a duplicate key is thrown, else the first error.
 */
export async function bulkWriteInParts<T extends Document>(
  store: Pick<Store, 'flavor'>, collection: Collection<T>, ops: AnyBulkWriteOperation<T>[], options: BulkWriteOptions = { ordered: false },
): Promise<void> {
  if (ops.length === 0) return;
  if (store.flavor !== 'ferretdb') {
    await collection.bulkWrite(ops, options);
    return;
  }
  const errors: unknown[] = [];
  for (let i = 0; i < ops.length; i += FERRETDB_UPDATES_PER_WRITE) {
    try {
      await collection.bulkWrite(ops.slice(i, i + FERRETDB_UPDATES_PER_WRITE), options);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors.find((e) => (e as { code?: number }).code !== 11000 && !onlyDuplicateKeys(e)) ?? errors[0];
}

/** Whether a bulk write failed only on duplicate keys (racing upserts and inserts of the same `_id`). */
export function onlyDuplicateKeys(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((e) => e.code === 11000);
}
