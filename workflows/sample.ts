import {
  ApplicationFailure, CancellationScope, CancelledFailure, getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addWaiterSignal, sampleDoneSignal,
  type SampleOutcome, type SampleWaiter, type SampleWorkflowInput,
} from '../src/contracts';
import { DB_ACTIVITY, inferActivity, scoreActivity } from './presets';

const db = proxyActivities<Activities>(DB_ACTIVITY);

/**
 * One execution of one sample key: infer on the model's queue, score and store on the scoring queue,
 * then tell every waiting job (the one that started it and any that adopted it) how it ended.
 */
export async function sampleWorkflow(input: SampleWorkflowInput): Promise<SampleOutcome> {
  const waiters: SampleWaiter[] = [
    { jobWorkflowId: input.parentWorkflowId, assignmentId: input.assignmentId, jobId: input.jobId, index: input.index },
  ];
  setHandler(addWaiterSignal, (waiter) => void waiters.push(waiter));
  const { outcome, recorded } = await execute(input, waiters);
  // The execution's own status (Completed, Failed, Canceled) says how it ended; no search attribute
  // update is spent on it, since visibility writes are a large share of the server's work per sample.
  await CancellationScope.nonCancellable(() => notifyWaiters(input, outcome, waiters, recorded));
  // A failed or canceled execution closes as such, so the id reuse policy (failed only) lets a later
  // request run the same key again, and the Web UI shows what happened.
  if (outcome.status === 'canceled') throw new CancelledFailure(`sample ${input.sampleKey} canceled`);
  if (outcome.status === 'failed') throw ApplicationFailure.nonRetryable(outcome.error ?? 'sample failed', 'EvalSampleFailed');
  return outcome;
}

/** Runs the stages; a failure or a cancel becomes an outcome stored as data, not a crashed workflow. */
async function execute(input: SampleWorkflowInput, waiters: SampleWaiter[]): Promise<{ outcome: SampleOutcome; recorded: number }> {
  const inferActs = proxyActivities<Activities>(inferActivity(input.inferenceQueue, input.inferTimeoutMs, input.retry));
  const scoreActs = proxyActivities<Activities>(scoreActivity(input.retry));
  try {
    // The score step depends on this execution's own prediction, or on the one stored result it was
    // planned with (predictionFrom): never on whatever happens to be stored for the key.
    const needsModel = input.mode !== 'eval' && !input.predictionFrom;
    if (needsModel && input.scoreInline) {
      const recorded = waiters.length;
      return { outcome: await inferActs.inferAndScore({ sample: input, waiters: waiters.slice(0, recorded) }), recorded };
    }
    const inferred = needsModel ? await inferActs.infer({ sample: input }) : null;
    const recorded = waiters.length;
    const outcome = await scoreActs.scoreAndStore({ sample: input, inferred, waiters: waiters.slice(0, recorded) });
    return { outcome, recorded };
  } catch (err) {
    const status = isCancellation(err) ? 'canceled' : 'failed';
    const error = errorMessage(err);
    const recorded = waiters.length;
    const outcome = await CancellationScope.nonCancellable(() =>
      db.recordOutcome({ sample: input, waiters: waiters.slice(0, recorded), status, error }),
    );
    return { outcome, recorded };
  }
}

/** Signals each waiter; waiters that arrived after the outcome was stored get their records written first. */
async function notifyWaiters(input: SampleWorkflowInput, outcome: SampleOutcome, waiters: SampleWaiter[], stored: number): Promise<void> {
  let recorded = stored;
  let notified = 0;
  while (notified < waiters.length) {
    if (recorded < waiters.length) {
      await db.recordUses({ sample: input, outcome, waiters: waiters.slice(recorded) });
      recorded = waiters.length;
    }
    const batch = waiters.slice(notified, recorded);
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

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : err.message;
  }
  return String(err);
}
