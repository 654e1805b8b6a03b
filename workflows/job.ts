import {
  ApplicationFailure, CancellationScope, allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, isCancellation,
  proxyActivities, proxyLocalActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  jobProgressQuery, jobProgressSignal, pauseSignal, resumeSignal, sampleDoneSignal, sampleWorkflowId,
  type JobProgress, type JobWorkflowInput, type SampleOutcome,
} from '../src/contracts';
import { JobState } from './job-state';
import { DB_ACTIVITY, LOCAL_DB_ACTIVITY } from './presets';
import { Launcher } from './job-launch';
import { runShardedJob } from './shard';
import { runProviderBatchJob } from './provider-batch';
import { environmentOverall } from './overall';
import { historyIsLarge } from './history';

const db = proxyActivities<Activities>(DB_ACTIVITY);
const local = proxyLocalActivities<Activities>(LOCAL_DB_ACTIVITY);

/** Largest batch prepared by one activity call. */
const MAX_BATCH = 200;

/**
 * Runs one model on one task: a sliding window of sample executions over the sample indexes, continuing
 * as new with its cursor before history grows large. Samples are prepared (keyed, checked for reuse) ahead
 * of the window, so a free place is filled without waiting, and started many at once (see Launcher). Children
 * outlive a continue-as-new (they are ABANDONed): they report by signal, or through their result to the run
 * that started them until it hands them over, and are counted once whichever run hears of them.
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<JobProgress> {
  // fanout: batch runs shard workflows of a few hundred samples instead of one workflow per sample (see
  // workflows/shard.ts). Agent tasks and the report stage always take the per-sample path below.
  // Provider batch mode (a model's provider.batch): the endpoint's batch API instead of online calls.
  if (input.job.providerBatch && !input.job.agent && (input.mode === 'all' || input.mode === 'infer')) return runProviderBatchJob(input);
  if (input.job.fanout === 'batch' && !input.job.agent && input.mode !== 'report') return runShardedJob(input);
  const state = new JobState(input);
  const preparer = new Preparer(input, state);
  let cancelling = false;
  let fatal: SampleOutcome | undefined;
  const onOutcome = (outcome: SampleOutcome): void => {
    state.onOutcome(outcome, cancelling);
    fatal ??= outcome.fatal ? outcome : undefined;
  };
  const launcher = new Launcher(input, state, workflowInfo().workflowId, onOutcome);
  setHandler(sampleDoneSignal, onOutcome);
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(jobProgressQuery, () => state.progress(state.paused ? 'paused' : 'running', input.runs));
  try {
    while (!state.finished() && !fatal) {
      await condition(() => state.canLaunch() || state.shouldPrepare() || state.finished() || historyIsLarge()
        || preparer.failed() || launcher.failed() || fatal !== undefined);
      if (fatal) break;
      preparer.rethrow();
      launcher.rethrow();
      if (historyIsLarge() && !state.finished()) {
        await condition(() => preparer.idle() && launcher.idle());
        await launcher.handOver();
        await condition(allHandlersFinished);
        if (fatal) break;
        return await continueAsNew<typeof jobWorkflow>(state.toInput(input));
      }
      if (state.shouldPrepare()) preparer.start();
      if (state.canLaunch()) launcher.launchReady();
      if (state.shouldReport()) await reportProgress(input, state);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelling = true;
    await CancellationScope.nonCancellable(() => stopInFlight(input, state, launcher, 'canceled'));
    throw err;
  }
  if (fatal) {
    // Every other sample would fail the same way: what runs is cancelled, nothing more starts.
    cancelling = true;
    await CancellationScope.nonCancellable(() => stopInFlight(input, state, launcher, 'failed'));
    throw ApplicationFailure.nonRetryable(`stopped after sample ${fatal.index} failed: ${fatal.error ?? 'no reason given'}`, fatal.fatal);
  }
  const progress = state.progress('completed', input.runs);
  // Agent tasks: the environment's own overall metric over the job's episodes.
  if (input.job.agent) await environmentOverall(input);
  await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status: 'completed', counts: progress.counts });
  return progress;
}

/**
 * Prepares the next indexes in the background (a local activity: keys, reuse checks, reuse records), one
 * call at a time, so the window never waits on a round trip to refill. A failure is rethrown by the loop.
 */
class Preparer {
  private running = false;
  private error: unknown;

  constructor(private readonly input: JobWorkflowInput, private readonly state: JobState) {}

  start(): void {
    const indexes = this.state.takeForPrepare(MAX_BATCH);
    if (indexes.length === 0) return;
    this.running = true;
    const { assignmentId, job, mode } = this.input;
    void local.prepareBatch({ assignmentId, job, mode, indexes, counts: this.state.counts })
      .then((prepared) => void this.state.prepared(prepared))
      .catch((err: unknown) => {
        this.state.unprepared(indexes);
        this.error = err;
      })
      .finally(() => void (this.running = false));
  }

  idle(): boolean {
    return !this.running;
  }

  failed(): boolean {
    return this.error !== undefined;
  }

  rethrow(): void {
    if (this.error !== undefined) throw this.error;
  }
}


/** Tells the assignment how far this job is; a lost report only delays a progress figure. */
async function reportProgress(input: JobWorkflowInput, state: JobState): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId).signal(jobProgressSignal, state.progress(state.paused ? 'paused' : 'running', input.runs));
  } catch {
    // The assignment may be closing; its final figures come from MongoDB.
  }
}

/** Lets the starts under way finish (they cannot be interrupted), so every started child is cancelled. */
async function stopInFlight(input: JobWorkflowInput, state: JobState, launcher: Launcher, status: 'canceled' | 'failed'): Promise<void> {
  await condition(() => launcher.idle());
  await cancelInFlight(input, state, status);
}

/** Cancels this job's own executions, waits for their outcomes a while, and records how the job ended. */
async function cancelInFlight(input: JobWorkflowInput, state: JobState, status: 'canceled' | 'failed'): Promise<void> {
  const inFlight = state.inFlightSamples();
  await Promise.all(
    inFlight.map(async (s) => {
      if (!s.own || !s.sampleKey) return void state.complete(s.index, 'canceled');
      try {
        await getExternalWorkflowHandle(sampleWorkflowId(s.sampleKey)).cancel();
      } catch {
        state.complete(s.index, 'canceled');
      }
    }),
  );
  const settled = await condition(() => state.inFlightSamples().length === 0, '60s');
  if (!settled) for (const s of state.inFlightSamples()) state.complete(s.index, 'canceled');
  state.cancelPending();
  await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status, counts: state.counts });
}
