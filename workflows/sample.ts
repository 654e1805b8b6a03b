import {
  CancellationScope, getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  EvalStatusKey, addWaiterSignal, sampleDoneSignal,
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
  await CancellationScope.nonCancellable(async () => {
    upsertSearchAttributes([{ key: EvalStatusKey, value: outcome.status }]);
    await notifyWaiters(input, outcome, waiters, recorded);
  });
  return outcome;
}

/** Runs the stages; a failure or a cancel becomes an outcome stored as data, not a crashed workflow. */
async function execute(input: SampleWorkflowInput, waiters: SampleWaiter[]): Promise<{ outcome: SampleOutcome; recorded: number }> {
  const inferActs = proxyActivities<Activities>(inferActivity(input.inferenceQueue, input.inferTimeoutMs, input.retry));
  const scoreActs = proxyActivities<Activities>(scoreActivity(input.retry));
  try {
    const inferred = input.mode === 'eval' ? null : await inferActs.infer({ sample: input });
    const recorded = waiters.length;
    return { outcome: await scoreActs.scoreAndStore({ sample: input, inferred, waiters: waiters.slice(0, recorded) }), recorded };
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
