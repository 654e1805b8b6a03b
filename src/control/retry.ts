import { ORCHESTRATOR_QUEUE, isTerminal, type AssignmentWorkflowInput } from '../contracts';
import type { Store } from '../store/store';
import type { AssignmentDoc } from '../store/documents';
import type { TemporalHandle } from '../temporal/client';
import { WrongStateError } from './control';

/** What `evalctl retry` started. */
export interface RetryStarted {
  assignmentId: string;
  workflowId: string;
  retryRun: number;
  /** Samples of the previous run that failed or were canceled (never started ones included). */
  toRetry: number;
}

/**
 * Runs an ended assignment again as a new run of the same workflow id. Its plan is the same, so every
 * sample that succeeded is reused from MongoDB and only the failed and canceled ones call a model.
 */
export async function retryAssignment(store: Store, temporal: TemporalHandle, doc: AssignmentDoc): Promise<RetryStarted> {
  if (!isTerminal(doc.status)) throw new WrongStateError(`assignment ${doc._id} is still ${doc.status}; retry it once it has ended`);
  const toRetry = doc.counts.failed + doc.counts.canceled;
  if (toRetry === 0) throw new WrongStateError(`assignment ${doc._id} has nothing to retry: no sample failed or was canceled`);
  const retryRun = (doc.retryRuns ?? 0) + 1;
  const now = new Date();
  await store.assignments.updateOne(
    { _id: doc._id },
    { $set: { status: 'pending', paused: false, cancelRequested: false, retryRuns: retryRun, updatedAt: now }, $unset: { endedAt: '', error: '' } },
  );
  await store.events.updateOne(
    { _id: `${doc._id}/retried/${retryRun}` },
    { $setOnInsert: { assignmentId: doc._id, type: 'retried', at: now, data: { retryRun, toRetry } } },
    { upsert: true },
  );
  const input: AssignmentWorkflowInput = { version: 1, assignmentId: doc._id, retryRun };
  await temporal.client.workflow.start('assignmentWorkflow', {
    taskQueue: ORCHESTRATOR_QUEUE,
    workflowId: doc.workflowId,
    args: [input],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  return { assignmentId: doc._id, workflowId: doc.workflowId, retryRun, toRetry };
}
