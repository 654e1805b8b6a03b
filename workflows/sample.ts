import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import { closeAs, collectWaiters, errorMessage, failureFacts, notifyWaiters } from './notify';
import { DB_ACTIVITY, inferActivity, scoreActivity } from './presets';

const db = proxyActivities<Activities>(DB_ACTIVITY);

/**
 * One execution of one sample key: infer on the model's queue, score and store on the scoring queue,
 * then tell every waiting job (the one that started it and any that adopted it) how it ended.
 */
export async function sampleWorkflow(input: SampleWorkflowInput): Promise<SampleOutcome> {
  const waiters = collectWaiters(input);
  const { outcome, recorded } = await execute(input, waiters);
  // The execution's own status (Completed, Failed, Canceled) says how it ended; no search attribute
  // update is spent on it, since visibility writes are a large share of the server's work per sample.
  await CancellationScope.nonCancellable(() => notifyWaiters(input, outcome, waiters, recorded));
  // A failed or canceled execution closes as such (see closeAs).
  return closeAs(input, outcome);
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
      db.recordOutcome({ sample: input, waiters: waiters.slice(0, recorded), status, error, failure: failureFacts(err, input.retry.maxAttempts) }),
    );
    return { outcome, recorded };
  }
}
