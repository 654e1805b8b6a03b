import {
  ApplicationFailure, CancellationScope, ChildWorkflowCancellationType, ParentClosePolicy,
  allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler,
  proxyLocalActivities, startChild, workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  EvalAssignmentKey, EvalModelKey, EvalTaskKey, addWaiterSignal, jobProgressQuery, jobProgressSignal, pauseSignal,
  resumeSignal, sampleDoneSignal, sampleWorkflowId,
  type JobProgress, type JobWorkflowInput, type PreparedSample, type SampleOutcome, type SampleWorkflowInput,
} from '../src/contracts';
import { JobState } from './job-state';
import { DB_ACTIVITY, LOCAL_DB_ACTIVITY } from './presets';
import { sampleWorkflow } from './sample';
import { shieldedStart } from './children';
import { runShardedJob } from './shard';
import { runProviderBatchJob } from './provider-batch';
import { episodeWorkflow } from './episode';
import { environmentOverall } from './overall';
import { historyIsLarge } from './history';

const db = proxyActivities<Activities>(DB_ACTIVITY);
const local = proxyLocalActivities<Activities>(LOCAL_DB_ACTIVITY);

/** Largest batch prepared by one activity call. */
const MAX_BATCH = 200;
/**
 * Starts of one index refused by an execution that then could not be adopted, before the sample fails:
 * each refusal means an execution of its key closed in between, so a loop that makes no progress ends.
 */
const MAX_START_REFUSALS = 5;
/** How the error of a sample that could never be started begins. */
const START_REFUSED = 'execution could not be started';

/**
 * Runs one model on one task: a sliding window of sample executions over the sample indexes, continuing
 * as new with its cursor before history grows large. Samples are prepared (keyed, checked for reuse) ahead
 * of the window, so a free place is filled without waiting. Outcomes arrive by signal, so children outlive
 * a continue-as-new (they are ABANDONed) and are counted once whichever run hears of them.
 */
export async function jobWorkflow(input: JobWorkflowInput): Promise<JobProgress> {
  // fanout: batch runs shard workflows of a few hundred samples instead of one workflow per sample (see
  // workflows/shard.ts). Agent tasks and the report stage always take the per-sample path below.
  // Provider batch mode (a model's provider.batch): the endpoint's batch API instead of online calls.
  if (input.job.providerBatch && !input.job.agent && (input.mode === 'all' || input.mode === 'infer')) return runProviderBatchJob(input);
  if (input.job.fanout === 'batch' && !input.job.agent && input.mode !== 'report') return runShardedJob(input);
  const state = new JobState(input);
  const self = workflowInfo().workflowId;
  const preparer = new Preparer(input, state);
  let cancelling = false;
  let fatal: SampleOutcome | undefined;
  setHandler(sampleDoneSignal, (outcome) => {
    state.onOutcome(outcome, cancelling);
    fatal ??= outcome.fatal ? outcome : undefined;
  });
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(jobProgressQuery, () => state.progress(state.paused ? 'paused' : 'running', input.runs));
  try {
    while (!state.finished() && !fatal) {
      await condition(() => state.canLaunch() || state.shouldPrepare() || state.finished() || historyIsLarge() || preparer.failed() || fatal !== undefined);
      if (fatal) break;
      preparer.rethrow();
      if (historyIsLarge() && !state.finished()) {
        await condition(() => preparer.idle() && allHandlersFinished());
        if (fatal) break;
        return await continueAsNew<typeof jobWorkflow>(state.toInput(input));
      }
      if (state.shouldPrepare()) preparer.start();
      if (state.canLaunch()) await launchReady(input, state, self);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelling = true;
    await CancellationScope.nonCancellable(() => cancelInFlight(input, state, 'canceled'));
    throw err;
  }
  if (fatal) {
    // Every other sample would fail the same way: what runs is cancelled, nothing more starts.
    cancelling = true;
    await CancellationScope.nonCancellable(() => cancelInFlight(input, state, 'failed'));
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


/** Starts (or adopts) an execution for every prepared sample the window has room for. */
async function launchReady(input: JobWorkflowInput, state: JobState, self: string): Promise<void> {
  const batch = state.takeToLaunch();
  await Promise.all(batch.map((sample) => {
    // The report stage never executes anything: what has no stored result is counted as not run.
    if (input.mode === 'report') return state.complete(sample.index, 'canceled');
    return launch(input, state, self, sample);
  }));
  if (state.shouldReport()) await reportProgress(input, state);
}

/** Starts a child execution, or adopts the one already running for the same key. */
async function launch(input: JobWorkflowInput, state: JobState, self: string, sample: PreparedSample): Promise<void> {
  const childInput: SampleWorkflowInput = {
    version: 1, assignmentId: input.assignmentId, jobId: input.job.jobId, modelId: input.job.modelId, taskId: input.job.taskId,
    index: sample.index, sampleKey: sample.sampleKey, inferenceKey: sample.inferenceKey, parentWorkflowId: self,
    inferenceQueue: input.job.inferenceQueue, inferTimeoutMs: input.job.inferTimeoutMs, scoreInline: input.job.scoreInline,
    retry: input.retry, mode: input.mode,
    predictionFrom: sample.predictionFrom,
    // Agent tasks: the sample runs as an episode against the task's environment.
    ...(input.job.agent ? { agent: input.job.agent } : {}),
  };
  const refusals = state.refusalsOf(sample.index);
  if (refusals >= MAX_START_REFUSALS) return failUnstartable(state, childInput, refusals);
  try {
    // A cancel of this job must not interrupt the start (see shieldedStart): cancelInFlight cancels the child.
    const child = await shieldedStart(() => startChild(input.job.agent ? episodeWorkflow : sampleWorkflow, {
      workflowId: sampleWorkflowId(sample.sampleKey),
      args: [childInput],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      // A closed execution that succeeded first refuses the start, so MongoDB is asked again (another job may
      // just have stored the result); once MongoDB says it is not done, the closed execution is replaced.
      workflowIdReusePolicy: refusals > 0 ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: EvalAssignmentKey, value: input.assignmentId },
        { key: EvalModelKey, value: input.job.modelId },
        { key: EvalTaskKey, value: input.job.taskId },
      ],
    }));
    // The outcome comes back by signal; the result promise is only kept from rejecting unhandled.
    child.result().catch(() => undefined);
    state.assign(sample.index, sample.sampleKey, true);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await adopt(input, state, self, sample);
  }
}

/** Fails a sample whose start keeps being refused by executions that close before they can be adopted. */
async function failUnstartable(state: JobState, sample: SampleWorkflowInput, refusals: number): Promise<void> {
  const error = `${START_REFUSED}: sample ${sample.index} (workflow ${sampleWorkflowId(sample.sampleKey)}) was refused ${refusals} times by an execution of its key that closed before it could be adopted, without a stored result`;
  const waiter = { jobWorkflowId: sample.parentWorkflowId, assignmentId: sample.assignmentId, jobId: sample.jobId, index: sample.index };
  await db.recordOutcome({ sample, waiters: [waiter], status: 'failed', error });
  state.complete(sample.index, 'failed');
}

/** Asks the running execution of this key to report to us too; if it is gone, the index is planned again. */
async function adopt(input: JobWorkflowInput, state: JobState, self: string, sample: PreparedSample): Promise<void> {
  state.assign(sample.index, sample.sampleKey, false);
  try {
    await getExternalWorkflowHandle(sampleWorkflowId(sample.sampleKey)).signal(addWaiterSignal, {
      jobWorkflowId: self, assignmentId: input.assignmentId, jobId: input.job.jobId, index: sample.index,
      modelId: input.job.modelId, taskId: input.job.taskId,
    });
  } catch {
    // Gone: it closed since the start was refused. MongoDB decides whether the sample is done.
    state.refused(sample.index);
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
