import { WorkflowNotFoundError } from '@temporalio/client';
import { emptyCounts, isTerminal, type AssignmentStatus, type Counts, type SampleStatus } from '../contracts';
import type { Store } from '../store/store';
import type { TemporalHandle } from '../temporal/client';

/** One repair `sync` made (or, with dryRun, would make). */
export interface SyncChange {
  kind: 'assignment' | 'job';
  id: string;
  from: AssignmentStatus;
  to: AssignmentStatus;
  reason: string;
}

/** How long a `pending` assignment may have no workflow before sync calls its start failed. */
const START_GRACE_MS = 60_000;

/** A closed workflow's status as an evalctl status; undefined while it runs. */
export function statusOfClosed(name: string): { status: AssignmentStatus; reason: string } | undefined {
  switch (name) {
    case 'RUNNING': return undefined;
    case 'COMPLETED': return { status: 'completed', reason: 'workflow completed' };
    case 'CANCELLED': return { status: 'canceled', reason: 'workflow canceled' };
    case 'TERMINATED': return { status: 'failed', reason: 'workflow terminated in Temporal' };
    case 'TIMED_OUT': return { status: 'failed', reason: 'workflow timed out' };
    default: return { status: 'failed', reason: `workflow ${name.toLowerCase()}` };
  }
}

/**
 * Reconciles MongoDB with Temporal: an assignment or job stored as not ended whose workflow has closed
 * (say, terminated by hand, or a crash between the two writes) gets the workflow's final status.
 */
export async function syncWithTemporal(store: Store, temporal: TemporalHandle, opts: { dryRun?: boolean } = {}): Promise<SyncChange[]> {
  const changes: SyncChange[] = [];
  const open = await store.assignments.find({ status: { $in: ['pending', 'running', 'paused'] } }, { projection: { config: 0 } }).toArray();
  for (const doc of open) {
    const closed = await closedStatus(temporal, doc.workflowId, doc.status === 'pending' && Date.now() - doc.createdAt.getTime() > START_GRACE_MS);
    if (closed) changes.push({ kind: 'assignment', id: doc._id, from: doc.status, to: closed.status, reason: closed.reason });
    const jobs = await store.jobs.find({ assignmentId: doc._id }).toArray();
    for (const job of jobs.filter((j) => !isTerminal(j.status) && j.status !== 'pending')) {
      const jobClosed = await closedStatus(temporal, job.workflowId, false);
      if (jobClosed) changes.push({ kind: 'job', id: job._id, from: job.status, to: jobClosed.status, reason: jobClosed.reason });
    }
  }
  if (!opts.dryRun) await apply(store, changes);
  return changes;
}

async function closedStatus(temporal: TemporalHandle, workflowId: string, missingMeansFailed: boolean): Promise<{ status: AssignmentStatus; reason: string } | undefined> {
  try {
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    return statusOfClosed(description.status.name);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError && missingMeansFailed) return { status: 'failed', reason: 'workflow never started' };
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Counts of an assignment's jobs from its sample records, as finalisation would have written them: a
 * sample with no record ended without running, so it counts as canceled (and `retry` runs it again).
 */
export async function recountFromSamples(store: Store, assignmentId: string): Promise<{ jobs: Map<string, Counts>; totals: Counts }> {
  const jobs = await store.jobs.find({ assignmentId }, { projection: { jobId: 1, counts: 1 } }).toArray();
  const byJob = new Map(jobs.map((j) => [j.jobId, emptyCounts(j.counts?.total ?? 0)]));
  const grouped = store.samples.aggregate<{ _id: { jobId: string; status: SampleStatus }; n: number }>([
    { $match: { assignmentId } },
    { $group: { _id: { jobId: '$jobId', status: '$status' }, n: { $sum: 1 } } },
  ]);
  for await (const g of grouped) {
    const counts = byJob.get(g._id.jobId);
    if (counts && g._id.status in counts) counts[g._id.status] += g.n;
  }
  const totals = emptyCounts();
  for (const counts of byJob.values()) {
    const ended = counts.succeeded + counts.failed + counts.reused + counts.canceled;
    counts.canceled += Math.max(0, counts.total - ended);
    counts.running = 0;
    for (const k of Object.keys(totals) as Array<keyof Counts>) totals[k] += counts[k];
  }
  return { jobs: byJob, totals };
}

async function apply(store: Store, changes: SyncChange[]): Promise<void> {
  const now = new Date();
  for (const c of changes) {
    if (c.kind === 'assignment') {
      // The workflow never finalised, so the stored counts are still those of the plan: recount them.
      const { jobs, totals } = await recountFromSamples(store, c.id);
      for (const [jobId, counts] of jobs) await store.jobs.updateOne({ _id: `${c.id}/${jobId}` }, { $set: { counts, updatedAt: now } });
      await store.assignments.updateOne({ _id: c.id }, { $set: { status: c.to, counts: totals, endedAt: now, updatedAt: now, paused: false, error: `set by sync: ${c.reason}` } });
      await store.events.updateOne({ _id: `${c.id}/synced/${now.getTime()}` }, { $setOnInsert: { assignmentId: c.id, type: 'synced', at: now, data: { from: c.from, to: c.to, reason: c.reason } } }, { upsert: true });
    } else {
      await store.jobs.updateOne({ _id: c.id }, { $set: { status: c.to, updatedAt: now } });
    }
  }
}
