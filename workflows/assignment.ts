import {
  ApplicationFailure, CancellationScope, CancelledFailure, ChildWorkflowCancellationType, ChildWorkflowFailure, ParentClosePolicy, condition,
  getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler, startChild, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  EvalAssignmentKey, EvalModelKey, EvalStatusKey, EvalTaskKey, JOB_FATAL_ERROR_TYPES, budgetStopSignal, emptyCounts, jobProgressSignal, jobWorkflowId, pauseSignal,
  progressQuery, resumeSignal,
  type AssignmentPlan, type AssignmentProgress, type AssignmentStatus, type AssignmentWorkflowInput, type JobPlan, type JobProgress,
} from '../src/contracts';
import { jobWorkflow } from './job';
import { LONG_DB_ACTIVITY } from './presets';

const acts = proxyActivities<Activities>(LONG_DB_ACTIVITY);

/** What an assignment workflow returns: how it ended. */
export interface AssignmentResult {
  assignmentId: string;
  status: AssignmentStatus;
}

/**
 * One assignment: plan the jobs, run them with a bounded number of samples in flight, and finalise on
 * every ending (completed, failed, canceled) in a scope that a cancel cannot interrupt.
 */
export async function assignmentWorkflow(input: AssignmentWorkflowInput): Promise<AssignmentResult> {
  const run = new AssignmentRun(input.assignmentId);
  setHandler(pauseSignal, () => run.setPaused(true));
  setHandler(resumeSignal, () => run.setPaused(false));
  setHandler(jobProgressSignal, (p) => run.onProgress(p));
  setHandler(progressQuery, () => run.progress());
  setHandler(budgetStopSignal, (reason) => run.stopForBudget(reason));
  let outcome: { status: AssignmentStatus; error?: string; cause?: unknown } = { status: 'completed' };
  try {
    const plan = await acts.planAssignment({ assignmentId: input.assignmentId });
    run.planned(plan);
    await run.stoppable(async () => {
      await run.runJobs(plan);
      await autoRetry(run, plan, input.assignmentId);
    });
  } catch (err) {
    outcome = isCancellation(err) ? { status: 'canceled', cause: err } : { status: 'failed', error: messageOf(err), cause: err };
  }
  // A spent budget stopped the jobs (a cancel of the inner scope only): the assignment ends failed with the reason.
  if (run.budgetReason !== undefined && !CancellationScope.current().consideredCancelled) outcome = { status: 'failed', error: run.budgetReason };
  if (outcome.status === 'completed' && run.jobFailure) outcome = { status: 'failed', error: run.jobFailure };
  const finalize = (status: AssignmentStatus, error: string | null) =>
    CancellationScope.nonCancellable(() => acts.finalizeAssignment({ assignmentId: input.assignmentId, outcome: status, error }));
  let final = await finalize(outcome.status, outcome.error ?? null);
  // A cancel that arrived while finalisation ran (it cannot be interrupted) still decides the ending:
  // the assignment is finalised again as canceled, so MongoDB and Temporal agree on `canceled`.
  if (final.status !== 'canceled' && CancellationScope.current().consideredCancelled) {
    final = await finalize('canceled', null);
    outcome = { status: 'canceled', cause: new CancelledFailure('assignment canceled during finalisation') };
  }
  run.ended = true;
  upsertSearchAttributes([{ key: EvalStatusKey, value: final.status }]);
  if (final.status === 'canceled' && outcome.cause) throw outcome.cause;
  if (final.status === 'failed') throw ApplicationFailure.nonRetryable(final.error ?? 'assignment failed', 'EvalAssignmentFailed');
  return { assignmentId: input.assignmentId, status: final.status };
}

/** Re-runs the jobs that have failed samples, up to `autoRetry` rounds; successes are reused, not redone. */
async function autoRetry(run: AssignmentRun, plan: AssignmentPlan, assignmentId: string): Promise<void> {
  if (plan.mode === 'report') return;
  for (let round = 1; round <= plan.autoRetry; round++) {
    const failing = await acts.jobsWithFailures({ assignmentId });
    if (failing.length === 0) return;
    await acts.recordEvent({ assignmentId, type: 'auto-retry', data: { round, jobs: failing } });
    await run.runJobs({ ...plan, jobs: plan.jobs.filter((j) => failing.includes(j.jobId)) });
  }
}

/** The assignment's own bookkeeping: which jobs run, their last reported progress, the pause flag. */
class AssignmentRun {
  paused = false;
  /** Set once the final status is known, so a late pause or resume cannot overwrite EvalStatus. */
  ended = false;
  status: AssignmentStatus = 'pending';
  jobFailure: string | undefined;
  /** A job failed in a way every job would (JOB_FATAL_ERROR_TYPES): the others are cancelled and the assignment fails. */
  private fatal: ApplicationFailure | undefined;
  private readonly jobs = new Map<string, JobProgress>();
  private readonly running = new Map<string, JobPlan>();
  /** The scope of each running job, so a fatal failure of one can cancel the others. */
  private readonly scopes = new Map<string, CancellationScope>();
  /** Set when a worker found the budget spent: why. */
  budgetReason: string | undefined;
  private scope: CancellationScope | undefined;

  constructor(readonly assignmentId: string) {}

  /** Runs the jobs in a scope that a spent budget cancels (a cancel of the assignment cancels it too). */
  async stoppable(work: () => Promise<void>): Promise<void> {
    this.scope = new CancellationScope();
    if (this.budgetReason !== undefined) this.scope.cancel();
    await this.scope.run(work);
  }

  /** The budget is spent: no job or sample starts any more, and those running are cancelled. */
  stopForBudget(reason: string): void {
    if (this.budgetReason !== undefined || this.ended) return;
    this.budgetReason = reason;
    this.scope?.cancel();
  }

  planned(plan: AssignmentPlan): void {
    this.status = 'running';
    for (const job of plan.jobs) {
      this.jobs.set(job.jobId, { jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, status: 'pending', counts: emptyCounts(job.total), runs: 0 });
    }
  }

  /** Starts jobs in order while the global budget of samples in flight allows, and waits for all. */
  async runJobs(plan: AssignmentPlan): Promise<void> {
    const ends: Promise<void>[] = [];
    let interrupted: unknown;
    try {
      for (const job of plan.jobs) {
        await condition(() => this.fatal !== undefined || this.running.size === 0 || (this.running.size < plan.maxJobs && this.inFlightBudget() + job.window <= plan.globalConcurrency));
        if (this.fatal) break;
        ends.push(this.startJob(plan, job));
      }
    } catch (err) {
      interrupted = err;
    }
    // Jobs already started are waited for even on cancel, so none outlives the assignment's ending.
    const settled = await Promise.allSettled(ends);
    const canceled = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && isCancellation(s.reason));
    if (interrupted !== undefined) throw interrupted;
    // A fatal job failure cancelled the other jobs: the assignment fails with its reason, not as canceled.
    if (this.fatal && !CancellationScope.current().consideredCancelled) throw this.fatal;
    if (canceled) throw canceled.reason;
  }

  /** Runs one job in a scope of its own, which a fatal failure of another job cancels. */
  private async startJob(plan: AssignmentPlan, job: JobPlan): Promise<void> {
    const scope = new CancellationScope();
    this.scopes.set(job.jobId, scope);
    try {
      await scope.run(() => this.runJob(plan, job));
    } finally {
      this.scopes.delete(job.jobId);
    }
  }

  private async runJob(plan: AssignmentPlan, job: JobPlan): Promise<void> {
    this.running.set(job.jobId, job);
    try {
      const handle = await startChild(jobWorkflow, {
        workflowId: jobWorkflowId(this.assignmentId, job.modelId, job.taskId),
        args: [{
          version: 1, assignmentId: this.assignmentId, job, retry: plan.retry, mode: plan.mode, cursor: 0,
          inFlight: [], retryQueue: [], counts: emptyCounts(job.total), paused: this.paused, runs: 0,
        }],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: EvalAssignmentKey, value: this.assignmentId },
          { key: EvalModelKey, value: job.modelId },
          { key: EvalTaskKey, value: job.taskId },
          { key: EvalStatusKey, value: 'running' },
        ],
      });
      this.jobs.set(job.jobId, { ...(this.jobs.get(job.jobId) as JobProgress), status: this.paused ? 'paused' : 'running' });
      this.onProgress(await handle.result());
    } catch (err) {
      if (isCancellation(err)) throw err;
      this.jobFailure = `job ${job.jobId} failed: ${messageOf(err)}`;
      this.onProgress({ ...(this.jobs.get(job.jobId) as JobProgress), status: 'failed' });
      const type = fatalTypeOf(err);
      if (type && !this.fatal) this.stopAll(ApplicationFailure.nonRetryable(this.jobFailure, type), job.jobId);
    } finally {
      this.running.delete(job.jobId);
    }
  }

  /** Fails the assignment: the other running jobs are cancelled and no job starts after this. */
  private stopAll(failure: ApplicationFailure, jobId: string): void {
    this.fatal = failure;
    for (const [id, scope] of this.scopes) if (id !== jobId) scope.cancel();
  }

  private inFlightBudget(): number {
    let sum = 0;
    for (const job of this.running.values()) sum += job.window;
    return sum;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    // The Web UI's EvalStatus filter follows pause and resume, until the ending sets the final status.
    if (!this.ended) upsertSearchAttributes([{ key: EvalStatusKey, value: paused ? 'paused' : 'running' }]);
    for (const job of this.running.values()) {
      const handle = getExternalWorkflowHandle(jobWorkflowId(this.assignmentId, job.modelId, job.taskId));
      // A job that has just ended cannot be paused; nothing is lost by ignoring it.
      handle.signal(paused ? pauseSignal : resumeSignal).catch(() => undefined);
    }
  }

  onProgress(progress: JobProgress): void {
    const known = this.jobs.get(progress.jobId);
    if (known && (known.status === 'completed' || known.status === 'failed') && progress.status !== known.status) return;
    this.jobs.set(progress.jobId, progress);
  }

  progress(): AssignmentProgress {
    const status = this.paused && this.status === 'running' ? 'paused' : this.status;
    return { assignmentId: this.assignmentId, status, paused: this.paused, jobs: [...this.jobs.values()] };
  }
}

/** The error type of a job failure that fails every job (JOB_FATAL_ERROR_TYPES), if it is one. */
function fatalTypeOf(err: unknown): string | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return type && JOB_FATAL_ERROR_TYPES.includes(type) ? type : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return messageOf(cause);
    return err.message;
  }
  return String(err);
}
