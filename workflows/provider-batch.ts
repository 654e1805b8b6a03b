import {
  ActivityFailure, ApplicationFailure, CancellationScope, allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle,
  isCancellation, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  ENDED_BATCH_STATUSES, jobProgressQuery, pauseSignal, resumeSignal, jobProgressSignal,
  type CollectBatchInput, type CollectBatchResult, type Counts, type JobBatch, type JobProgress, type JobWorkflowInput, type ProviderBatchSettings,
} from '../src/contracts';
import { DB_ACTIVITY, providerBatchActivity } from './presets';
import { historyIsLarge } from './history';

/**
 * Provider batch mode (a model's `provider.batch`): the job sends its requests to the endpoint's batch
 * API instead of calling it online. Consecutive index ranges become batches (at most `maxInFlight` at
 * once); each is submitted once (activities/provider-batch.ts makes a retried submission find the batch a
 * lost attempt created), then polled on a workflow timer, so no worker is held for the hours a batch may
 * take, and collected into per-sample results scored like online ones. What an expired batch left
 * unanswered is submitted again as a batch of just those requests, up to `maxResubmits` times. Pause holds
 * new submissions back (running batches are still collected: they are paid for); cancel cancels the
 * remote batches and stores what they had not answered as canceled.
 */

const db = proxyActivities<Activities>(DB_ACTIVITY);
/** How long a cancel waits for the endpoint to end a batch, so what it did answer is stored. */
const CANCEL_WAIT_MS = 30_000;

type JobRun = (input: JobWorkflowInput) => Promise<JobProgress>;

/** The job loop of provider batch mode (called by jobWorkflow; see the module comment). */
export async function runProviderBatchJob(input: JobWorkflowInput): Promise<JobProgress> {
  const run = new BatchJob(input);
  setHandler(pauseSignal, () => run.setPaused(true));
  setHandler(resumeSignal, () => run.setPaused(false));
  setHandler(jobProgressQuery, () => run.progress());
  try {
    for (;;) {
      await run.step();
      if (run.finished()) break;
      if (historyIsLarge()) {
        await condition(allHandlersFinished);
        return await continueAsNew<JobRun>(run.toInput());
      }
      await run.wait();
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await run.cancelAll();
      await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status: 'canceled', counts: run.canceledCounts() });
    });
    throw err;
  }
  const progress = run.progress('completed');
  await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status: 'completed', counts: progress.counts });
  return progress;
}


/** One job's batches: a cursor over index ranges, the batches queued or running, and counts. */
class BatchJob {
  private paused: boolean;
  private woken = false;
  private cursor: number;
  private readonly counts: Counts;
  private readonly batches: JobBatch[];
  private readonly settings: ProviderBatchSettings;
  private readonly acts: ReturnType<typeof proxyActivities<Activities>>;
  private readonly long: ReturnType<typeof proxyActivities<Activities>>;
  private readonly self = workflowInfo().workflowId;

  constructor(private readonly input: JobWorkflowInput) {
    this.paused = input.paused;
    this.cursor = input.cursor;
    this.counts = { ...input.counts, running: 0 };
    this.batches = (input.batches ?? []).map((b) => ({ ...b }));
    this.settings = input.job.providerBatch as ProviderBatchSettings;
    this.acts = proxyActivities<Activities>(providerBatchActivity(input.job.inferenceQueue, 120_000));
    this.long = proxyActivities<Activities>(providerBatchActivity(input.job.inferenceQueue, 30 * 60_000));
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.woken = true;
  }

  finished(): boolean {
    return this.cursor >= this.input.job.total && this.batches.length === 0;
  }

  /** Polls what runs, collects what ended, queues the next ranges and submits what is queued (unless paused). */
  async step(): Promise<void> {
    await this.poll();
    for (const b of this.batches.filter((x) => x.status && ENDED_BATCH_STATUSES.includes(x.status))) await this.collect(b);
    while (this.cursor < this.input.job.total && this.batches.length < this.settings.maxInFlight) {
      const start = this.cursor;
      this.cursor = Math.min(this.input.job.total, start + this.settings.maxRequests);
      this.batches.push({ key: this.keyOf(start, this.cursor, 0), start, end: this.cursor, round: 0 });
    }
    if (!this.paused) await Promise.all(this.batches.filter((b) => b.remoteId === undefined).map((b) => this.submit(b)));
  }

  /** Sleeps until the next poll, or until a pause or resume signal; while paused with nothing running, until resumed. */
  async wait(): Promise<void> {
    this.woken = false;
    const running = this.batches.some((b) => typeof b.remoteId === 'string');
    if (this.paused && !running) await condition(() => !this.paused);
    else await condition(() => this.woken, this.settings.pollIntervalMs);
  }

  private keyOf(start: number, end: number, round: number): string {
    const { assignmentId, job } = this.input;
    return `${assignmentId}/${job.jobId}/${workflowInfo().firstExecutionRunId}/${start}-${end}/${round}`;
  }

  private async submit(b: JobBatch): Promise<void> {
    const { assignmentId, job, mode } = this.input;
    try {
      const res = await this.long.submitProviderBatch({
        assignmentId, job: { jobId: job.jobId, modelId: job.modelId, taskId: job.taskId }, mode: mode === 'infer' ? 'infer' : 'all',
        batch: b, jobWorkflowId: this.self, counts: this.progress().counts,
      });
      if (res.held) return;
      if (b.round === 0) {
        this.counts.reused += res.reused;
        this.counts.succeeded += res.scored;
      }
      b.remoteId = res.remoteId;
      b.requests = res.requests;
      if (res.remoteId === null) return this.remove(b);
      b.status = res.status ?? 'validating';
      b.indexes = res.indexes;
      b.submittedAt = Date.now();
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Rejected for good (a bad key, a file the endpoint refuses): the batch's samples fail with the reason.
      const why = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.message : String(err);
      b.remoteId = null;
      await this.settle(b, await this.long.collectProviderBatch(this.collectInput(b, 'failed', `batch submission failed: ${why}`)));
    }
  }

  /** Asks the endpoint how the running batches stand; cancels one that ran past maxWaitMs. */
  private async poll(): Promise<void> {
    const running = this.batches.filter((b): b is JobBatch & { remoteId: string } => typeof b.remoteId === 'string' && !ENDED_BATCH_STATUSES.includes(b.status ?? 'validating'));
    if (running.length === 0) return;
    const { assignmentId, job } = this.input;
    const polled = await this.acts.pollProviderBatches({ assignmentId, modelId: job.modelId, taskId: job.taskId, batches: running.map((b) => ({ key: b.key, remoteId: b.remoteId })) });
    for (const p of polled) {
      const b = running.find((x) => x.key === p.key);
      if (b) b.status = p.status;
    }
    for (const b of running) {
      if (b.cancelAsked || ENDED_BATCH_STATUSES.includes(b.status ?? 'validating') || Date.now() - (b.submittedAt ?? Date.now()) < this.settings.maxWaitMs) continue;
      b.cancelAsked = true;
      b.status = (await this.acts.cancelProviderBatch({ assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, key: b.key, waitMs: 0 })) ?? b.status;
    }
  }

  /** Collects an ended batch; what an expired one left unanswered is queued again while rounds remain. */
  private async collect(b: JobBatch): Promise<void> {
    const expired = b.status === 'expired' || (b.status === 'cancelled' && b.cancelAsked === true);
    const policy = expired && b.round < this.settings.maxResubmits ? 'resubmit' : 'failed';
    await this.settle(b, await this.long.collectProviderBatch(this.collectInput(b, policy)));
  }

  private collectInput(b: JobBatch, unanswered: CollectBatchInput['unanswered'], failWith?: string): CollectBatchInput {
    const { assignmentId, job, mode } = this.input;
    return { assignmentId, jobId: job.jobId, jobWorkflowId: this.self, mode: mode === 'infer' ? 'infer' : 'all', key: b.key, unanswered, ...(failWith ? { failWith } : {}) };
  }

  private async settle(b: JobBatch, res: CollectBatchResult): Promise<void> {
    this.counts.succeeded += res.succeeded;
    this.counts.failed += res.failed;
    this.counts.canceled += res.canceled;
    const at = this.batches.indexOf(b);
    if (res.unanswered > 0) {
      const next: JobBatch = { key: this.keyOf(b.start, b.end, b.round + 1), start: b.start, end: b.end, round: b.round + 1, previousKey: b.key };
      this.batches.splice(at, 1, next);
    } else {
      this.remove(b);
    }
    await this.report();
  }

  private remove(b: JobBatch): void {
    const at = this.batches.indexOf(b);
    if (at >= 0) this.batches.splice(at, 1);
  }

  /** On cancel: every batch that may exist on the endpoint is cancelled, and collected with its unanswered requests canceled. */
  async cancelAll(): Promise<void> {
    const { assignmentId, job } = this.input;
    await Promise.all([...this.batches].map(async (b) => {
      try {
        await this.acts.cancelProviderBatch({ assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, key: b.key, waitMs: CANCEL_WAIT_MS });
        const res = await this.long.collectProviderBatch(this.collectInput(b, 'canceled'));
        await this.settle(b, res);
      } catch {
        // A batch never built has no document: nothing was sent, and its samples count as canceled below.
      }
    }));
  }

  /** Counts for a canceled job: whatever did not end is canceled. */
  canceledCounts(): Counts {
    const c = { ...this.counts, running: 0 };
    c.canceled += Math.max(0, c.total - c.succeeded - c.failed - c.reused - c.canceled);
    return c;
  }

  /** Counts so far; running = the indexes of submitted batches not collected yet. */
  progress(status: JobProgress['status'] = this.paused ? 'paused' : 'running'): JobProgress {
    const { job, runs } = this.input;
    let running = 0;
    for (const b of this.batches) if (typeof b.remoteId === 'string') running += b.indexes ?? 0;
    return { jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, status, counts: { ...this.counts, running }, runs };
  }

  /** Tells the assignment how far this job is; a lost report only delays a progress figure. */
  private async report(): Promise<void> {
    const parent = workflowInfo().parent;
    if (!parent) return;
    await getExternalWorkflowHandle(parent.workflowId).signal(jobProgressSignal, this.progress()).catch(() => undefined);
  }

  toInput(): JobWorkflowInput {
    return {
      ...this.input, cursor: this.cursor, inFlight: [], retryQueue: [], counts: { ...this.counts, running: 0 }, paused: this.paused,
      runs: this.input.runs + 1, batches: this.batches.map((b) => ({ ...b })),
    };
  }
}
