import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorTypes, JOB_FATAL_ERROR_TYPES, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import { EpisodeRunner } from './episode-runner';
import { closeAs, collectWaiters, errorMessage, failureFacts, notifyWaiters } from './notify';
import { DB_ACTIVITY, scoreActivity } from './presets';

const db = proxyActivities<Activities>(DB_ACTIVITY);

/**
 * One execution of one sample key of an agent task: an episode against the task's environment (see
 * EpisodeRunner), scored and stored with its transcript, then every waiting job is told how it ended,
 * exactly as sampleWorkflow does. A cancel also cancels the environment session.
 */
export async function episodeWorkflow(input: SampleWorkflowInput): Promise<SampleOutcome> {
  const waiters = collectWaiters(input);
  if (!input.agent) throw ApplicationFailure.nonRetryable(`sample ${input.sampleKey}: an episode needs agent settings`, ErrorTypes.ConfigInvalid);
  const runner = new EpisodeRunner(input, input.agent);
  const { outcome, recorded } = await execute(input, waiters, runner);
  await CancellationScope.nonCancellable(() => notifyWaiters(input, outcome, waiters, recorded));
  // Sessions the episode stopped using are closed before the workflow ends (their cancels retry until confirmed).
  await CancellationScope.nonCancellable(() => runner.settle());
  return closeAs(input, outcome);
}

/** Runs and stores the episode; a failure or a cancel becomes an outcome stored as data. */
async function execute(input: SampleWorkflowInput, waiters: SampleWaiter[], runner: EpisodeRunner): Promise<{ outcome: SampleOutcome; recorded: number }> {
  const store = proxyActivities<Activities>(scoreActivity(input.retry));
  try {
    const episode = await runner.run();
    const recorded = waiters.length;
    return { outcome: await store.storeEpisode({ sample: input, episode, waiters: waiters.slice(0, recorded) }), recorded };
  } catch (err) {
    const status = isCancellation(err) ? 'canceled' : 'failed';
    const error = errorMessage(err);
    const recorded = waiters.length;
    const facts = failureFacts(err, input.retry.maxAttempts);
    const outcome = await CancellationScope.nonCancellable(async () => {
      await runner.cancelSession();
      return db.recordOutcome({ sample: input, waiters: waiters.slice(0, recorded), status, error, failure: { ...facts, attempts: runner.attempts() } });
    });
    // A failure no other sample of the job can escape (the environment dropped the task) stops the job.
    const fatal = status === 'failed' && facts.errorType !== null && JOB_FATAL_ERROR_TYPES.includes(facts.errorType);
    return { outcome: fatal ? { ...outcome, fatal: facts.errorType ?? undefined } : outcome, recorded };
  }
}
