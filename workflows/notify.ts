import { ActivityFailure, ApplicationFailure, CancelledFailure, getExternalWorkflowHandle, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { addWaiterSignal, reportBySignalSignal, sampleDoneSignal, type FailureFacts, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import { DB_ACTIVITY } from './presets';

/** How executions of a sample key (sampleWorkflow, episodeWorkflow) tell their waiting jobs how they ended. */

const db = proxyActivities<Activities>(DB_ACTIVITY);

/**
 * The waiters of an execution: the job that started it, then any job that adopts it by signal while it
 * runs. The list is read later by notifyWaiters, so it keeps growing after this returns.
 */
export function collectWaiters(input: SampleWorkflowInput): SampleWaiter[] {
  const waiters: SampleWaiter[] = [
    { jobWorkflowId: input.parentWorkflowId, assignmentId: input.assignmentId, jobId: input.jobId, index: input.index },
  ];
  setHandler(addWaiterSignal, (waiter) => void waiters.push(waiter));
  return waiters;
}

/** How the job that started an execution hears of its outcome: from its result, or by signal. */
export interface ParentReport {
  /** The starting job is signalled: it does not read the result (parentReads unset), or it asked. */
  bySignal: boolean;
}

/**
 * Whether the starting job is told by signal; a job that reads the result asks for a signal before it
 * continues as new (reportBySignalSignal), and the answer follows from then on.
 */
export function parentReport(input: SampleWorkflowInput): ParentReport {
  const report: ParentReport = { bySignal: !input.parentReads };
  if (input.parentReads) setHandler(reportBySignalSignal, () => void (report.bySignal = true));
  return report;
}

/**
 * Signals each waiter; waiters that arrived after the outcome was stored get their records written first.
 * The starting job (the first waiter) is signalled only when `parent` says so, also if it asks meanwhile.
 */
export async function notifyWaiters(
  input: SampleWorkflowInput, outcome: SampleOutcome, waiters: SampleWaiter[], stored: number, parent: ParentReport = { bySignal: true },
): Promise<void> {
  let recorded = stored;
  let notified = 0;
  let parentTold = false;
  while (notified < waiters.length || (parent.bySignal && !parentTold)) {
    if (recorded < waiters.length) {
      await db.recordUses({ sample: input, outcome, waiters: waiters.slice(recorded) });
      recorded = waiters.length;
    }
    const batch = waiters.slice(notified, recorded).filter((_, i) => notified + i > 0);
    if (parent.bySignal && !parentTold) batch.push(waiters[0]);
    parentTold ||= parent.bySignal;
    notified = recorded;
    await Promise.all(batch.map((w) => signalWaiter(w, { ...outcome, index: w.index })));
  }
}

async function signalWaiter(waiter: SampleWaiter, outcome: SampleOutcome): Promise<void> {
  try {
    await getExternalWorkflowHandle(waiter.jobWorkflowId).signal(sampleDoneSignal, outcome);
  } catch {
    // The job is gone (canceled or ended); the stored outcome is what it would have read.
  }
}

/** The error type a failed sample execution closes with; its details hold the outcome. */
export const SAMPLE_FAILED = 'EvalSampleFailed';

/**
 * Closes the execution the way it ended: a failed or canceled one closes as such, so the id reuse policy
 * (failed only) lets a later request run the same key again, and the Web UI shows what happened.
 */
export function closeAs(input: SampleWorkflowInput, outcome: SampleOutcome): SampleOutcome {
  if (outcome.status === 'canceled') throw new CancelledFailure(`sample ${input.sampleKey} canceled`);
  // The outcome rides along, for a job that reads it from the result (parentReads).
  if (outcome.status === 'failed') throw ApplicationFailure.nonRetryable(outcome.error ?? 'sample failed', SAMPLE_FAILED, outcome);
  return outcome;
}

/** The message of a failure, preferring its cause (an activity failure wraps the real error). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : err.message;
  }
  return String(err);
}

/**
 * The error type and the attempts of a failed step, for the failed sample's record: the type of the
 * activity's failure, and the attempt it carries in its details (see activities/failures.ts), else the
 * retry limit when the retries ran out.
 */
export function failureFacts(err: unknown, maxAttempts: number): FailureFacts {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const errorType = cause instanceof ApplicationFailure ? cause.type ?? null : cause instanceof Error ? cause.name : null;
  const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempt?: unknown } | undefined) : undefined;
  if (typeof detail?.attempt === 'number') return { errorType, attempts: detail.attempt };
  const exhausted = err instanceof ActivityFailure && err.retryState === 'MAXIMUM_ATTEMPTS_REACHED';
  return { errorType, attempts: exhausted ? maxAttempts : null };
}
