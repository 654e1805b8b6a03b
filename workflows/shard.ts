import {
  CancellationScope, ChildWorkflowCancellationType, ParentClosePolicy, allHandlersFinished, condition, continueAsNew,
  executeChild, getExternalWorkflowHandle, isCancellation, proxyActivities, proxyLocalActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  EvalAssignmentKey, EvalModelKey, EvalTaskKey, jobProgressQuery, jobProgressSignal, pauseSignal, resumeSignal, shardProgressSignal,
  type Counts, type JobProgress, type JobWorkflowInput, type PreparedSample, type SampleOutcome, type SampleWaiter,
  type SampleWorkflowInput, type ShardCounts, type ShardWorkflowInput,
} from '../src/contracts';
import { errorMessage, failureFacts } from './notify';
import { DB_ACTIVITY, LOCAL_DB_ACTIVITY, inferActivity, scoreActivity, shardRunnerActivity } from './presets';
import { historyIsLarge } from './history';

/**
 * `fanout: batch`: a job starts a few shard workflows over consecutive index ranges instead of one child
 * workflow per sample. A shard normally runs as one long activity, the shard runner
 * (activities/shard-runner.ts), that keeps `calls` model calls in flight in process and stores results in
 * bulk: no history event per sample. Jobs whose scorer needs the scoring queue, or whose model has a queue
 * rate limit to respect, run shards of a few hundred samples that start one activity per sample instead.
 * Dedup of stored successes holds either way (samples are prepared by the same classification);
 * adoption of a run started by another assignment does not: there is no per-sample workflow to adopt, so
 * two assignments running the same key at once both run it.
 */

const db = proxyActivities<Activities>(DB_ACTIVITY);
const local = proxyLocalActivities<Activities>(LOCAL_DB_ACTIVITY);

/** Samples per shard of per-sample activities: its history stays near 2,500 events, well under the service's warning at 10k. */
export const SHARD_SIZE = 500;
/** Model calls in flight per shard: small enough that a shard's tail (its last calls) costs little. */
const CALLS_PER_SHARD = 32;
/** Indexes prepared per prepareBatch call. */
const PREPARE_PAGE = 200;

type JobRun = (input: JobWorkflowInput) => Promise<JobProgress>;

/**
 * How a job's window is split: shards running at once, calls per shard, samples per shard. Shard runners
 * keep no per-sample history, so each takes an equal part of the whole job and all run from start to end
 * (no shard's tail waits on the next one's start); shards of per-sample activities are capped in size.
 */
export function shardPlan(window: number, total: number, runner = false): { shards: number; calls: number; size: number } {
  // At least two shards, so work spreads over two workers, and one shard's tail overlaps another's run.
  const shards = Math.max(Math.min(2, window), Math.ceil(window / CALLS_PER_SHARD));
  const calls = Math.max(1, Math.floor(window / shards));
  const even = Math.ceil(total / shards);
  return { shards, calls, size: Math.max(1, runner ? even : Math.min(SHARD_SIZE, even)) };
}

/**
 * The job loop of `fanout: batch` (called by jobWorkflow): keeps a few shards running over consecutive
 * index ranges, and continues as new between shards. Shards are ordinary children, cancelled with the job.
 */
export async function runShardedJob(input: JobWorkflowInput): Promise<JobProgress> {
  const run = new ShardedJob(input);
  setHandler(pauseSignal, () => void (run.paused = true));
  setHandler(resumeSignal, () => void (run.paused = false));
  setHandler(jobProgressQuery, () => run.progress());
  setHandler(shardProgressSignal, (p) => run.onShardProgress(p.start, p.counts));
  try {
    while (!run.finished()) {
      await condition(() => run.canLaunch() || run.finished() || run.failure !== undefined || historyIsLarge());
      if (run.failure !== undefined) throw run.failure;
      if (historyIsLarge() && !run.finished()) {
        await condition(() => run.running === 0 && allHandlersFinished());
        return await continueAsNew<JobRun>(run.toInput());
      }
      while (run.canLaunch()) run.launch();
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await condition(() => run.running === 0, '60s');
      await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status: 'canceled', counts: run.canceledCounts() });
    });
    throw err;
  }
  const progress = run.progress('completed');
  await db.recordJobEnd({ assignmentId: input.assignmentId, jobId: input.job.jobId, status: 'completed', counts: progress.counts });
  return progress;
}


/** A batch-mode job's bookkeeping: a cursor over index ranges, the shards running, and counts. */
class ShardedJob {
  paused: boolean;
  running = 0;
  failure: unknown;
  private cursor: number;
  private readonly counts: Counts;
  private readonly plan: ReturnType<typeof shardPlan>;
  private readonly self = workflowInfo().workflowId;
  /** Running shards by first index: their size, and the counts their runner last reported. */
  private readonly shards = new Map<number, { size: number; counts: ShardCounts }>();

  constructor(private readonly input: JobWorkflowInput) {
    this.paused = input.paused;
    this.cursor = input.cursor;
    this.counts = { ...input.counts, running: 0 };
    this.plan = shardPlan(input.job.window, input.job.total, input.job.batchRunner === true);
  }

  /** A shard runner's counts so far: shown by progress until the shard ends and its final counts are added. */
  onShardProgress(start: number, counts: ShardCounts): void {
    const shard = this.shards.get(start);
    if (shard) shard.counts = counts;
  }

  canLaunch(): boolean {
    return !this.paused && this.failure === undefined && this.cursor < this.input.job.total && this.running < this.plan.shards;
  }

  finished(): boolean {
    return this.cursor >= this.input.job.total && this.running === 0;
  }

  /** Starts the shard of the next index range; its counts are added when it ends. */
  launch(): void {
    const { input } = this;
    const start = this.cursor;
    const end = Math.min(input.job.total, start + this.plan.size);
    this.cursor = end;
    this.running += 1;
    this.shards.set(start, { size: end - start, counts: { succeeded: 0, failed: 0, reused: 0, canceled: 0 } });
    const args: ShardWorkflowInput = {
      version: 1, assignmentId: input.assignmentId, job: input.job, retry: input.retry, mode: input.mode,
      jobWorkflowId: this.self, start, end, calls: this.plan.calls, counts: this.progress().counts,
    };
    void executeChild(shardWorkflow, {
      workflowId: `${this.self}/shard/${start}`,
      args: [args],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: EvalAssignmentKey, value: input.assignmentId },
        { key: EvalModelKey, value: input.job.modelId },
        { key: EvalTaskKey, value: input.job.taskId },
      ],
    })
      .then((ended) => this.add(ended))
      .catch((err: unknown) => {
        // A cancelled shard's samples are counted as canceled by the job's own ending (and by finalisation).
        if (!isCancellation(err)) this.failure = err;
      })
      .finally(() => {
        this.running -= 1;
        this.shards.delete(start);
      });
  }

  private add(ended: ShardCounts): Promise<void> {
    for (const status of ['succeeded', 'failed', 'reused', 'canceled'] as const) this.counts[status] += ended[status];
    return this.report();
  }

  /** Tells the assignment how far this job is; a lost report only delays a progress figure. */
  private async report(): Promise<void> {
    const parent = workflowInfo().parent;
    if (!parent) return;
    await getExternalWorkflowHandle(parent.workflowId).signal(jobProgressSignal, this.progress()).catch(() => undefined);
  }

  /** Counts for a canceled job: whatever did not end is canceled. */
  canceledCounts(): Counts {
    const c = { ...this.counts, running: 0 };
    c.canceled += Math.max(0, c.total - c.succeeded - c.failed - c.reused - c.canceled);
    return c;
  }

  /** Ended shards' counts plus running shards' last reports; running = what those shards have not ended yet. */
  progress(status: JobProgress['status'] = this.paused ? 'paused' : 'running'): JobProgress {
    const { job, runs } = this.input;
    const counts = { ...this.counts, running: 0 };
    for (const shard of this.shards.values()) {
      let ended = 0;
      for (const k of ['succeeded', 'failed', 'reused', 'canceled'] as const) {
        counts[k] += shard.counts[k];
        ended += shard.counts[k];
      }
      counts.running += Math.max(0, shard.size - ended);
    }
    return { jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, status, counts, runs };
  }

  toInput(): JobWorkflowInput {
    return { ...this.input, cursor: this.cursor, inFlight: [], retryQueue: [], counts: { ...this.counts, running: 0 }, paused: this.paused, runs: this.input.runs + 1 };
  }
}

/**
 * One shard: prepares its index range in pages (keys, reuse of stored successes) and runs one activity per
 * sample to run, at most `calls` at once. Failures are stored as data; a cancel stores the in-flight
 * samples as canceled and closes the shard as canceled.
 */
export async function shardWorkflow(input: ShardWorkflowInput): Promise<ShardCounts> {
  if (input.job.batchRunner) return proxyActivities<Activities>(shardRunnerActivity(input.job.inferenceQueue)).runShard(input);
  const shard = new Shard(input);
  try {
    while (!shard.done()) {
      await condition(() => shard.canRun() || shard.shouldPrepare() || shard.done() || shard.failure !== undefined);
      if (shard.failure !== undefined) throw shard.failure;
      if (shard.shouldPrepare()) shard.prepare();
      while (shard.canRun()) shard.runNext();
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => condition(() => shard.inFlight === 0));
    throw err;
  }
  return shard.counts;
}

/** A shard's bookkeeping: a cursor over its range, prepared samples, calls in flight, counts. */
class Shard {
  readonly counts: ShardCounts = { succeeded: 0, failed: 0, reused: 0, canceled: 0 };
  inFlight = 0;
  failure: unknown;
  private cursor: number;
  private preparing = false;
  private readonly ready: PreparedSample[] = [];

  constructor(private readonly input: ShardWorkflowInput) {
    this.cursor = input.start;
  }

  done(): boolean {
    return this.cursor >= this.input.end && !this.preparing && this.ready.length === 0 && this.inFlight === 0;
  }

  canRun(): boolean {
    return this.ready.length > 0 && this.inFlight < this.input.calls;
  }

  /** Prepares the next page while fewer than two rounds of calls wait. */
  shouldPrepare(): boolean {
    return !this.preparing && this.cursor < this.input.end && this.ready.length < this.input.calls * 2;
  }

  prepare(): void {
    const { input } = this;
    const end = Math.min(input.end, this.cursor + PREPARE_PAGE);
    const indexes = Array.from({ length: end - this.cursor }, (_, i) => this.cursor + i);
    this.cursor = end;
    this.preparing = true;
    void local.prepareBatch({ assignmentId: input.assignmentId, job: input.job, mode: input.mode, indexes, counts: input.counts })
      .then((prepared) => {
        for (const p of prepared) {
          if (p.reused) this.counts.reused += 1;
          else this.ready.push(p);
        }
      })
      .catch((err: unknown) => void (this.failure = err))
      .finally(() => void (this.preparing = false));
  }

  runNext(): void {
    const sample = this.ready.shift() as PreparedSample;
    this.inFlight += 1;
    void runSample(this.input, sample)
      .then((outcome) => void (this.counts[outcome.status] += 1))
      .catch((err: unknown) => void (this.failure = err))
      .finally(() => void (this.inFlight -= 1));
  }
}

/** The stages of one sample, as sampleWorkflow runs them, with the job as the only waiter. */
async function runSample(input: ShardWorkflowInput, prepared: PreparedSample): Promise<SampleOutcome> {
  const { job } = input;
  const sample: SampleWorkflowInput = {
    version: 1, assignmentId: input.assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId,
    index: prepared.index, sampleKey: prepared.sampleKey, inferenceKey: prepared.inferenceKey, parentWorkflowId: input.jobWorkflowId,
    inferenceQueue: job.inferenceQueue, inferTimeoutMs: job.inferTimeoutMs, scoreInline: job.scoreInline, retry: input.retry,
    mode: input.mode, predictionFrom: prepared.predictionFrom,
  };
  const waiters: SampleWaiter[] = [{ jobWorkflowId: input.jobWorkflowId, assignmentId: input.assignmentId, jobId: job.jobId, index: prepared.index }];
  const inferActs = proxyActivities<Activities>(inferActivity(job.inferenceQueue, job.inferTimeoutMs, input.retry));
  try {
    const needsModel = input.mode !== 'eval' && !prepared.predictionFrom;
    if (needsModel && job.scoreInline) return await inferActs.inferAndScore({ sample, waiters });
    const inferred = needsModel ? await inferActs.infer({ sample }) : null;
    return await proxyActivities<Activities>(scoreActivity(input.retry)).scoreAndStore({ sample, inferred, waiters });
  } catch (err) {
    const status = isCancellation(err) ? 'canceled' : 'failed';
    return CancellationScope.nonCancellable(() => db.recordOutcome({ sample, waiters, status, error: errorMessage(err), failure: failureFacts(err, input.retry.maxAttempts) }));
  }
}
