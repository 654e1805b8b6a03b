import {
  ApplicationFailure, ChildWorkflowCancellationType, ChildWorkflowFailure, ParentClosePolicy,
  getExternalWorkflowHandle, proxyActivities, startChild, type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  EvalAssignmentKey, EvalModelKey, EvalTaskKey, addWaiterSignal, reportBySignalSignal, sampleWorkflowId,
  type JobWorkflowInput, type PreparedSample, type SampleOutcome, type SampleWorkflowInput,
} from '../src/contracts';
import type { JobState } from './job-state';
import { DB_ACTIVITY, LOCAL_SAMPLE_TASK_TIMEOUT } from './presets';
import { sampleWorkflow } from './sample';
import { shieldedStart } from './children';
import { episodeWorkflow } from './episode';
import { SAMPLE_FAILED, errorMessage } from './notify';

const db = proxyActivities<Activities>(DB_ACTIVITY);

/**
 * Starts of one index refused by an execution that then could not be adopted, before the sample fails:
 * each refusal means an execution of its key closed in between, so a loop that makes no progress ends.
 */
const MAX_START_REFUSALS = 5;
/** How the error of a sample that could never be started begins. */
const START_REFUSED = 'execution could not be started';

type SampleHandle = ChildWorkflowHandle<typeof sampleWorkflow>;

/**
 * Starts (or adopts) a job's sample executions in the background, many at once, so the window fills without
 * waiting on each start in turn. Executions of the local path (JobPlan.localCall) that this run started
 * report through their result; every other one, adopted ones, and this run's own once it hands over before
 * continuing as new, report by signal. Outcomes go to `onOutcome`, which counts each index once.
 */
export class Launcher {
  private pending = 0;
  private error: unknown;
  /** Executions this run started whose outcome it reads from their result, by index. */
  private readonly readers = new Map<number, { child: SampleHandle; sampleKey: string }>();

  constructor(
    private readonly input: JobWorkflowInput, private readonly state: JobState, private readonly self: string,
    private readonly onOutcome: (outcome: SampleOutcome) => void,
  ) {}

  /** Launches every prepared sample the window has room for, without waiting for the starts. */
  launchReady(): void {
    for (const sample of this.state.takeToLaunch()) {
      // The report stage never executes anything: what has no stored result is counted as not run.
      if (this.input.mode === 'report') {
        this.state.complete(sample.index, 'canceled');
        continue;
      }
      this.pending += 1;
      void this.launch(sample)
        .catch((err: unknown) => void (this.error ??= err))
        .finally(() => void (this.pending -= 1));
    }
  }

  /** No start or adoption is under way. */
  idle(): boolean {
    return this.pending === 0;
  }

  /** A start failed in a way no retry of the loop can fix (it is rethrown by the job). */
  failed(): boolean {
    return this.error !== undefined;
  }

  rethrow(): void {
    if (this.error !== undefined) throw this.error;
  }

  /**
   * Before continuing as new: asks every execution whose result this run reads to report by signal, since
   * the next run cannot read it. One that has closed already reports through its result here.
   */
  async handOver(): Promise<void> {
    await Promise.all([...this.readers].map(async ([index, { child, sampleKey }]) => {
      try {
        await getExternalWorkflowHandle(child.workflowId, child.firstExecutionRunId).signal(reportBySignalSignal);
      } catch {
        await this.readResult(index, child, sampleKey);
      }
    }));
  }

  /** Counts the outcome of an execution this run reads, from its result or its failure, once. */
  private readResult(index: number, child: SampleHandle, sampleKey: string): Promise<void> {
    return child.result().then(
      (outcome) => this.read(index, { ...outcome, index }),
      (err: unknown) => this.read(index, outcomeOfFailure(err, index, sampleKey)),
    );
  }

  private read(index: number, outcome: SampleOutcome): void {
    if (!this.readers.delete(index)) return;
    this.onOutcome(outcome);
  }

  private childInput(sample: PreparedSample): SampleWorkflowInput {
    const { input } = this;
    // The plan's localCall already leaves out agent tasks (localCallOf); the stage and the sample decide the rest.
    const local = input.job.localCall === true && (input.mode === 'all' || input.mode === 'infer') && !sample.predictionFrom;
    return {
      version: 1, assignmentId: input.assignmentId, jobId: input.job.jobId, modelId: input.job.modelId, taskId: input.job.taskId,
      index: sample.index, sampleKey: sample.sampleKey, inferenceKey: sample.inferenceKey, parentWorkflowId: this.self,
      inferenceQueue: input.job.inferenceQueue, inferTimeoutMs: input.job.inferTimeoutMs, scoreInline: input.job.scoreInline,
      retry: input.retry, mode: input.mode, predictionFrom: sample.predictionFrom,
      ...(local ? { localCall: true, parentReads: true } : {}),
      // Agent tasks: the sample runs as an episode against the task's environment.
      ...(input.job.agent ? { agent: input.job.agent } : {}),
    };
  }

  /** Starts a child execution, or adopts the one already running for the same key. */
  private async launch(sample: PreparedSample): Promise<void> {
    const childInput = this.childInput(sample);
    const refusals = this.state.refusalsOf(sample.index);
    if (refusals >= MAX_START_REFUSALS) return this.failUnstartable(childInput, refusals);
    let child: SampleHandle;
    try {
      // A cancel of this job must not interrupt the start (see shieldedStart): cancelInFlight cancels the child.
      child = await shieldedStart(() => startChild(this.input.job.agent ? episodeWorkflow : sampleWorkflow, {
        workflowId: sampleWorkflowId(sample.sampleKey),
        args: [childInput],
        // The local path runs on the inference queue, where its model call runs too.
        ...(childInput.localCall ? { taskQueue: childInput.inferenceQueue, workflowTaskTimeout: LOCAL_SAMPLE_TASK_TIMEOUT } : {}),
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        // A closed execution that succeeded first refuses the start, so MongoDB is asked again (another job may
        // just have stored the result); once MongoDB says it is not done, the closed execution is replaced.
        workflowIdReusePolicy: refusals > 0 ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: [
          { key: EvalAssignmentKey, value: this.input.assignmentId },
          { key: EvalModelKey, value: this.input.job.modelId },
          { key: EvalTaskKey, value: this.input.job.taskId },
        ],
      }));
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return this.adopt(sample);
    }
    this.state.assign(sample.index, sample.sampleKey, true);
    if (!childInput.parentReads) {
      // The outcome comes back by signal; the result promise is only kept from rejecting unhandled.
      child.result().catch(() => undefined);
      return;
    }
    this.readers.set(sample.index, { child, sampleKey: sample.sampleKey });
    void this.readResult(sample.index, child, sample.sampleKey);
  }

  /** Asks the running execution of this key to report to us too; if it is gone, the index is planned again. */
  private async adopt(sample: PreparedSample): Promise<void> {
    this.state.assign(sample.index, sample.sampleKey, false);
    try {
      await getExternalWorkflowHandle(sampleWorkflowId(sample.sampleKey)).signal(addWaiterSignal, {
        jobWorkflowId: this.self, assignmentId: this.input.assignmentId, jobId: this.input.job.jobId, index: sample.index,
        modelId: this.input.job.modelId, taskId: this.input.job.taskId,
      });
    } catch {
      // Gone: it closed since the start was refused. MongoDB decides whether the sample is done.
      this.state.refused(sample.index);
    }
  }

  /** Fails a sample whose start keeps being refused by executions that close before they can be adopted. */
  private async failUnstartable(sample: SampleWorkflowInput, refusals: number): Promise<void> {
    const error = `${START_REFUSED}: sample ${sample.index} (workflow ${sampleWorkflowId(sample.sampleKey)}) was refused ${refusals} times by an execution of its key that closed before it could be adopted, without a stored result`;
    const waiter = { jobWorkflowId: sample.parentWorkflowId, assignmentId: sample.assignmentId, jobId: sample.jobId, index: sample.index };
    await db.recordOutcome({ sample, waiters: [waiter], status: 'failed', error });
    this.state.complete(sample.index, 'failed');
  }
}

/**
 * How a child read by its result closed without one: failed (the outcome it stored rides in the failure's
 * details), or canceled, terminated or timed out (counted like a cancel: planned again unless the job is
 * cancelling, so MongoDB decides).
 */
function outcomeOfFailure(err: unknown, index: number, sampleKey: string): SampleOutcome {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === SAMPLE_FAILED) {
    const stored = cause.details?.[0] as SampleOutcome | undefined;
    return { index, sampleKey, status: 'failed', error: stored?.error ?? cause.message };
  }
  if (cause instanceof ApplicationFailure) return { index, sampleKey, status: 'failed', error: errorMessage(cause) };
  return { index, sampleKey, status: 'canceled' };
}
