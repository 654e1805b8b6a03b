import type { AnyBulkWriteOperation } from 'mongodb';
import type { SampleOutcome, SampleStatus, SampleWaiter, SampleWorkflowInput, Counts, AssignmentStatus } from '../src/contracts';
import { Context } from '@temporalio/activity';
import type { ResultDoc, SampleDoc } from '../src/store/documents';
import { findByIds } from '../src/store/store';
import { currentRunId, type ActivityDeps } from './deps';
import { isDuplicateKey } from './failures';

/**
 * Which stored statuses a write may not replace: an execution's success stands over everything, a reuse
 * never hides that this assignment ran the sample itself, and a failure or cancel never hides a success.
 */
const PROTECTED_FROM: Record<SampleStatus, SampleStatus[]> = {
  succeeded: [],
  reused: ['succeeded'],
  failed: ['succeeded', 'reused'],
  canceled: ['succeeded', 'reused'],
};

/** One sample of one assignment's job, as it ended. */
export interface SampleRecord {
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  index: number;
  sampleKey: string;
  status: SampleStatus;
  score: number | null;
  passed?: boolean | null;
}

/**
 * Upserts per-assignment sample documents and adds the assignments to the results they used. A stored
 * success is never downgraded to canceled or failed by a late, racing write.
 */
export async function recordSampleDocs(deps: ActivityDeps, records: SampleRecord[], opts: { resultsToo?: boolean } = {}): Promise<void> {
  if (records.length === 0) return;
  const now = new Date();
  const writable = deps.store.flavor === 'ferretdb' ? await unprotected(deps, records) : records;
  const ops: AnyBulkWriteOperation<SampleDoc>[] = writable.map((r) => ({
    updateOne: {
      filter: deps.store.flavor === 'ferretdb' ? { _id: sampleDocId(r) } : { _id: sampleDocId(r), ...protectedFilter(r.status) },
      update: { $set: { ...r, passed: r.passed ?? null, updatedAt: now } },
      upsert: true,
    },
  }));
  if (ops.length > 0) await writeSampleDocs(deps, ops);
  if (opts.resultsToo === false) return;
  const byKey = new Map<string, Set<string>>();
  for (const r of records) byKey.set(r.sampleKey, (byKey.get(r.sampleKey) ?? new Set()).add(r.assignmentId));
  await deps.store.results.bulkWrite(
    [...byKey].map(([key, ids]) => ({ updateOne: { filter: { _id: key }, update: { $addToSet: { assignments: { $each: [...ids] } } } } })),
    { ordered: false },
  );
}

function sampleDocId(r: SampleRecord): string {
  return `${r.assignmentId}/${r.jobId}/${r.index}`;
}

function protectedFilter(status: SampleStatus): Record<string, unknown> {
  return PROTECTED_FROM[status].length ? { status: { $nin: PROTECTED_FROM[status] } } : {};
}

/**
 * FerretDB scans for any filter beyond `_id`, so there the protection is a read before the write: a
 * narrower guarantee (two racing writers could still cross), kept for the local stack only.
 */
async function unprotected(deps: ActivityDeps, records: SampleRecord[]): Promise<SampleRecord[]> {
  const guarded = records.filter((r) => PROTECTED_FROM[r.status].length > 0);
  if (guarded.length === 0) return records;
  const existing = await findByIds(deps.store, deps.store.samples, guarded.map(sampleDocId), { status: 1 });
  const statusOf = new Map(existing.map((d) => [d._id, d.status]));
  return records.filter((r) => {
    const current = statusOf.get(sampleDocId(r));
    return !current || !PROTECTED_FROM[r.status].includes(current);
  });
}

async function writeSampleDocs(deps: ActivityDeps, ops: AnyBulkWriteOperation<SampleDoc>[]): Promise<void> {
  try {
    await deps.store.samples.bulkWrite(ops, { ordered: false });
  } catch (err) {
    // A duplicate key here means the filter skipped a stored success: exactly the write we meant to skip.
    if (!isDuplicateKey(err) && !isBulkOfDuplicates(err)) throw err;
  }
}

function isBulkOfDuplicates(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((e) => e.code === 11000);
}

/** Sample records for every waiter of an execution. */
export function waiterRecords(sample: SampleWorkflowInput, waiters: SampleWaiter[], status: SampleStatus, score: number | null, passed?: boolean | null): SampleRecord[] {
  return waiters.map((w) => ({
    assignmentId: w.assignmentId, jobId: w.jobId, modelId: sample.modelId, taskId: sample.taskId, index: w.index,
    sampleKey: sample.sampleKey, status, score, passed: passed ?? null,
  }));
}

/**
 * Stores a successful result by sample key (listing the waiters' assignments) and the waiters' sample
 * records: the one write path of scoreAndStore and storeEpisode.
 */
export async function storeSuccess(
  deps: ActivityDeps, sample: SampleWorkflowInput, waiters: SampleWaiter[], doc: Omit<ResultDoc, '_id' | 'assignments'>,
  score: { value: number; passed?: boolean },
): Promise<SampleOutcome> {
  await deps.store.results.updateOne(
    { _id: sample.sampleKey },
    { $set: doc, $addToSet: { assignments: { $each: [...new Set(waiters.map((w) => w.assignmentId))] } } },
    { upsert: true },
  );
  Context.current().heartbeat();
  await recordSampleDocs(deps, waiterRecords(sample, waiters, 'succeeded', score.value, score.passed ?? null), { resultsToo: false });
  return { index: sample.index, sampleKey: sample.sampleKey, status: 'succeeded', score: score.value };
}

/** Activities that record outcomes: failures and cancels as data, late waiters, job endings. */
export function recordActivities(deps: ActivityDeps) {
  return {
    /** Stores a failed or canceled execution (never over a stored success) and the waiters' sample records. */
    async recordOutcome(input: { sample: SampleWorkflowInput; waiters: SampleWaiter[]; status: 'failed' | 'canceled'; error: string }): Promise<SampleOutcome> {
      const { sample } = input;
      if (input.status === 'failed') await storeFailure(deps, sample, input.error);
      await recordSampleDocs(deps, waiterRecords(sample, input.waiters, input.status, null));
      return { index: sample.index, sampleKey: sample.sampleKey, status: input.status, error: input.error };
    },

    /** Records sample documents for jobs that adopted an execution after its outcome was stored. */
    async recordUses(input: { sample: SampleWorkflowInput; outcome: SampleOutcome; waiters: SampleWaiter[] }): Promise<void> {
      await recordSampleDocs(deps, waiterRecords(input.sample, input.waiters, input.outcome.status, input.outcome.score ?? null));
    },

    /** Jobs of an assignment that have failed samples, for another automatic retry round. */
    async jobsWithFailures(input: { assignmentId: string }): Promise<string[]> {
      const docs = await deps.store.samples.find({ assignmentId: input.assignmentId, status: 'failed' }, { projection: { jobId: 1 } }).toArray();
      return [...new Set(docs.map((d) => d.jobId))].sort();
    },

    /** Records one lifecycle event of an assignment, once per workflow run. */
    async recordEvent(input: { assignmentId: string; type: string; data?: Record<string, unknown> }): Promise<void> {
      const at = new Date();
      await deps.store.events.updateOne(
        { _id: `${input.assignmentId}/${input.type}/${currentRunId()}/${JSON.stringify(input.data ?? {})}` },
        { $setOnInsert: { assignmentId: input.assignmentId, type: input.type, at, data: input.data } },
        { upsert: true },
      );
    },

    /** Mirrors a job's ending and counts into MongoDB. */
    async recordJobEnd(input: { assignmentId: string; jobId: string; status: AssignmentStatus; counts: Counts }): Promise<void> {
      await deps.store.jobs.updateOne(
        { _id: `${input.assignmentId}/${input.jobId}` },
        { $set: { status: input.status, counts: input.counts, updatedAt: new Date() } },
      );
    },
  };
}

async function storeFailure(deps: ActivityDeps, sample: SampleWorkflowInput, error: string): Promise<void> {
  const now = new Date();
  // A stored success is never replaced by a late failure; checked by `_id` first, since FerretDB
  // answers only `_id`-only filters from an index.
  const current = await deps.store.results.findOne({ _id: sample.sampleKey }, { projection: { status: 1 } });
  if (current?.status === 'succeeded') return;
  try {
    await deps.store.results.updateOne(
      deps.store.flavor === 'ferretdb' ? { _id: sample.sampleKey } : { _id: sample.sampleKey, status: { $ne: 'succeeded' } },
      {
        $set: { status: 'failed', error, errorType: null, finishedAt: now, updatedAt: now, modelId: sample.modelId, taskId: sample.taskId, sampleIndex: sample.index, inferenceKey: sample.inferenceKey },
        $setOnInsert: { sampleId: String(sample.index), input: '', attempts: sample.retry.maxAttempts, assignments: [] },
      },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
