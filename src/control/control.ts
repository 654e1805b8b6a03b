import { HOLD_FLAGS_MAX_AGE_MS, isTerminal, pauseSignal, resumeSignal, type AssignmentStatus } from '../contracts';
import type { Store } from '../store/store';
import type { AssignmentDoc } from '../store/documents';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { TemporalHandle } from '../temporal/client';

/** Thrown when a command does not apply to an assignment in its current state (e.g. pausing a finished one). */
export class WrongStateError extends Error {
  override name = 'WrongStateError';
}

async function logEvent(store: Store, assignmentId: string, type: string): Promise<void> {
  const at = new Date();
  await store.events.updateOne({ _id: `${assignmentId}/${type}/${at.getTime()}` }, { $setOnInsert: { assignmentId, type, at } }, { upsert: true });
}

/**
 * Pauses or resumes an assignment. The flag is written to MongoDB before the signal is sent, so from the
 * moment this returns no new model call starts (activities check it; shard runners keep a copy at most
 * HOLD_FLAGS_MAX_AGE_MS old, which a pause waits out); in-flight calls finish.
 */
export async function setPaused(store: Store, temporal: TemporalHandle, doc: AssignmentDoc, paused: boolean): Promise<void> {
  if (isTerminal(doc.status)) throw new WrongStateError(`assignment ${doc._id} has already ended (${doc.status})`);
  await store.assignments.updateOne({ _id: doc._id }, { $set: { paused, updatedAt: new Date() } });
  // A copy read before the write completed is at most this old when we return.
  const written = Date.now();
  await logEvent(store, doc._id, paused ? 'paused' : 'resumed');
  await temporal.client.workflow.getHandle(doc.workflowId).signal(paused ? pauseSignal : resumeSignal);
  const left = written + HOLD_FLAGS_MAX_AGE_MS - Date.now();
  if (paused && left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

/**
 * Cancels an assignment: marks it so no new model call starts, asks Temporal to cancel the workflow (which
 * cancels every job and sample and finalises), and waits up to `waitMs` for the final status.
 */
export async function cancelAssignment(store: Store, temporal: TemporalHandle, doc: AssignmentDoc, waitMs: number): Promise<AssignmentStatus> {
  const handle = temporal.client.workflow.getHandle(doc.workflowId);
  // MongoDB shows the ending as soon as finalisation stored it; the workflow may still be finishing its
  // follow-up (leaderboards, export, notifications). Until it closes, a cancel still applies.
  if (isTerminal(doc.status) && !(await isRunning(handle))) return doc.status;
  await store.assignments.updateOne({ _id: doc._id }, { $set: { cancelRequested: true, updatedAt: new Date() } });
  await logEvent(store, doc._id, 'cancel-requested');
  await handle.cancel();
  // Wait for the workflow to close, not for MongoDB to show an ending: a cancel that lands during
  // finalisation first stores the run's own ending, then finalises again as canceled.
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && (await isRunning(handle))) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return waitForEnd(store, doc._id, Math.max(0, deadline - Date.now()));
}

async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Polls MongoDB until the assignment has a final status or the deadline passes. */
export async function waitForEnd(store: Store, assignmentId: string, waitMs: number, pollMs = 250): Promise<AssignmentStatus> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const doc = await store.assignments.findOne({ _id: assignmentId }, { projection: { status: 1 } });
    if (!doc || isTerminal(doc.status) || Date.now() >= deadline) return doc?.status ?? 'canceled';
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
