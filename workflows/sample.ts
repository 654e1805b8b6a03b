import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorTypes, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import { closeAs, collectWaiters, errorMessage, failureFacts, notifyWaiters, parentReport } from './notify';
import { DB_ACTIVITY, inferActivity, localCallActivity, scoreActivity } from './presets';

const db = proxyActivities<Activities>(DB_ACTIVITY);

/** History events of a workflow's first task when it starts: started, task scheduled, task started. */
const FIRST_TASK_HISTORY_LENGTH = 3;

/**
 * One execution of one sample key: infer on the model's queue, score and store on the scoring queue,
 * then tell every waiting job (the one that started it and any that adopted it) how it ended. With
 * `localCall` the execution runs on the inference queue and the call, scored inline, is a local activity of
 * the worker that runs it: no activity task through the server, one workflow task for the whole sample.
 */
export async function sampleWorkflow(input: SampleWorkflowInput): Promise<SampleOutcome> {
  const waiters = collectWaiters(input);
  const parent = parentReport(input);
  const { outcome, recorded } = await execute(input, waiters);
  // The execution's own status (Completed, Failed, Canceled) says how it ended; no search attribute
  // update is spent on it, since visibility writes are a large share of the server's work per sample.
  await CancellationScope.nonCancellable(() => notifyWaiters(input, outcome, waiters, recorded, parent));
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
    if (needsModel && input.localCall) return await callLocally(input, waiters);
    if (needsModel && input.scoreInline) {
      const recorded = waiters.length;
      return { outcome: await inferActs.inferAndScore({ sample: input, waiters: waiters.slice(0, recorded) }), recorded };
    }
    const inferred = needsModel ? await inferActs.infer({ sample: input }) : null;
    const recorded = waiters.length;
    const outcome = await scoreActs.scoreAndStore({ sample: input, inferred, waiters: waiters.slice(0, recorded) });
    return { outcome, recorded };
  } catch (err) {
    const status = isCancellation(err) || stoppedByAssignment(input, err) ? 'canceled' : 'failed';
    const error = errorMessage(err);
    const recorded = waiters.length;
    const outcome = await CancellationScope.nonCancellable(() =>
      db.recordOutcome({ sample: input, waiters: waiters.slice(0, recorded), status, error, failure: failureFacts(err, input.retry.maxAttempts) }),
    );
    return { outcome, recorded };
  }
}

/**
 * The local path: the call, scored and stored, as a local activity. Its result is recorded only when the
 * workflow task completes; a task that is not the first (the last one was lost with its worker, or its
 * completion was refused for signals that came in meanwhile) lets the activity use a result stored since
 * the execution started instead of calling the model again.
 */
async function callLocally(input: SampleWorkflowInput, waiters: SampleWaiter[]): Promise<{ outcome: SampleOutcome; recorded: number }> {
  const info = workflowInfo();
  const local = proxyLocalActivities<Activities>(localCallActivity(input.inferTimeoutMs, input.retry));
  const retried = info.historyLength > FIRST_TASK_HISTORY_LENGTH ? { retriedSince: info.startTime.getTime() } : {};
  const recorded = waiters.length;
  return { outcome: await local.callAndScoreLocal({ sample: input, waiters: waiters.slice(0, recorded), ...retried }), recorded };
}

/** A local call ended by the assignment's stop (the activity saw its cancel flag): counted as canceled. */
function stoppedByAssignment(input: SampleWorkflowInput, err: unknown): boolean {
  if (!input.localCall) return false;
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === ErrorTypes.Canceled;
}
