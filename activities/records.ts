import type { AnyBulkWriteOperation } from 'mongodb';
import type { SampleOutcome, SampleStatus, SampleWaiter, SampleWorkflowInput, Counts, AssignmentStatus } from '../src/contracts';
import type { SampleDoc } from '../src/store/documents';
import type { ActivityDeps } from './deps';
import { isDuplicateKey } from './failures';

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
export async function recordSampleDocs(deps: ActivityDeps, records: SampleRecord[]): Promise<void> {
  if (records.length === 0) return;
  const now = new Date();
  const ops: AnyBulkWriteOperation<SampleDoc>[] = records.map((r) => ({
    updateOne: {
      filter: r.status === 'succeeded' || r.status === 'reused'
        ? { _id: `${r.assignmentId}/${r.jobId}/${r.index}` }
        : { _id: `${r.assignmentId}/${r.jobId}/${r.index}`, status: { $nin: ['succeeded', 'reused'] } },
      update: { $set: { ...r, passed: r.passed ?? null, updatedAt: now } },
      upsert: true,
    },
  }));
  try {
    await deps.store.samples.bulkWrite(ops, { ordered: false });
  } catch (err) {
    // A duplicate key here means the filter skipped a stored success: exactly the write we meant to skip.
    if (!isDuplicateKey(err) && !isBulkOfDuplicates(err)) throw err;
  }
  const byKey = new Map<string, Set<string>>();
  for (const r of records) byKey.set(r.sampleKey, (byKey.get(r.sampleKey) ?? new Set()).add(r.assignmentId));
  await deps.store.results.bulkWrite(
    [...byKey].map(([key, ids]) => ({ updateOne: { filter: { _id: key }, update: { $addToSet: { assignments: { $each: [...ids] } } } } })),
    { ordered: false },
  );
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
  try {
    await deps.store.results.updateOne(
      { _id: sample.sampleKey, status: { $ne: 'succeeded' } },
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
