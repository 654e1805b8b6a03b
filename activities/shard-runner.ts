import { Context } from '@temporalio/activity';
import { createScorer, type Score, type Scorer } from '../src/scorers';
import type { ModelConfig, TaskConfig } from '../src/config/schema';
import {
  ErrorTypes, HOLD_FLAGS_MAX_AGE_MS, NON_RETRYABLE_ERROR_TYPES, shardProgressSignal,
  type PreparedSample, type SampleWorkflowInput, type ShardCounts, type ShardWorkflowInput,
} from '../src/contracts';
import type { KeyedSample } from '../src/plan/samples';
import { BuiltCache, type ActivityDeps, type ConfigCache } from './deps';
import { errorTypeOf, permanent, retryAdvice } from './failures';
import type { Inferred, ModelCall } from './infer';
import { isStopping, type HoldCache } from './holds';
import { untilStored } from './mongo-retry';
import { prepareSamples } from './plan';
import { processSlots, type Slots } from './slots';
import { JobPools, type PoolMember } from './shard-pool';
import { searchTextOf } from '../src/store/search-text';
import { promptContent, recordSampleDocs, sampleRecordId, storeOutcome, type FailureRecord, type StoredResult } from './records';
import { BulkWriter } from './bulk-writer';
import { findByIds } from '../src/store/store';
import { figuresOf } from '../src/store/documents';
import { resultDocOf, storedPrediction } from './score';

/**
 * The shard runner of `fanout: batch`: one activity runs a whole shard (a range of a job's indexes) with
 * an in-process pool of `calls` model calls, instead of one activity per sample. Per sample there is then
 * no history event at all; results are stored in bulk writes. The activity heartbeats a checkpoint (every
 * index below `next` and every index in `done` is stored), so an attempt after a lost worker resumes where
 * the last one stood: only the calls in flight at the loss run again. A call is retried in process by the
 * assignment's retry settings (honouring Retry-After), as Temporal would retry an activity. Once every
 * sample of its range has started, each of its places serves the job's other runners in the same process
 * (activities/shard-pool.ts), so the job's last round is one round, not one per shard.
 */

/** Indexes keyed and classified per read. */
const PAGE = 200;

/** What an attempt leaves for the next one, in its heartbeat. */
export interface ShardCheckpoint {
  /** Every index below this one has ended and is stored. */
  next: number;
  /** Indexes at or above `next` that have ended and are stored. */
  done: number[];
  counts: ShardCounts;
}

/** Builds the shard runner activity. */
export function shardRunnerActivities(deps: ActivityDeps, configs: ConfigCache, callModel: ModelCall, holds: HoldCache) {
  const scorers = new BuiltCache<Scorer>();
  const slots = processSlots(deps);
  const pools = new JobPools();
  return {
    /** Runs every sample of one shard (see the module comment); returns how they ended. */
    async runShard(input: ShardWorkflowInput): Promise<ShardCounts> {
      const [model, task] = await Promise.all([configs.model(input.assignmentId, input.job.modelId), configs.task(input.assignmentId, input.job.taskId)]);
      const scorerConfig = task.kind === 'agent' ? undefined : task.scorer;
      if (!scorerConfig) throw permanent(`task ${task.id} has no inline scorer: its shards cannot run in the shard runner`, ErrorTypes.ConfigInvalid);
      const scorer = scorers.get(`${input.assignmentId}/${task.id}`, () => createScorer(scorerConfig));
      const run = new ShardRun({ deps, configs, callModel, holds, model, task, scorer, slots, pools }, input);
      return run.execute();
    },
  };
}

interface RunnerParts {
  deps: ActivityDeps;
  configs: ConfigCache;
  callModel: ModelCall;
  holds: HoldCache;
  model: ModelConfig;
  task: TaskConfig;
  scorer: Scorer;
  /** The process's places for model calls, shared by its runners. */
  slots?: Slots;
  /** Places a job's runners lend each other in this process once their own ranges have all started. */
  pools: JobPools;
}

interface Ready {
  prepared: PreparedSample;
  keyed: KeyedSample;
}

/** One attempt at one shard: a pool of callers over prepared pages, a bulk writer, and the checkpoint. */
class ShardRun implements PoolMember {
  private readonly ctx = Context.current();
  /** Samples running on places other runners of the job lent (see JobPools). */
  private readonly helpers = new Set<Promise<void>>();
  /** The assignment is paused, as the callers last read it: no sample starts on a lent place. */
  private held = false;
  private job = '';
  private readonly counts: ShardCounts;
  private readonly done: Set<number>;
  private readonly skip: Set<number>;
  private next: number;
  private cursor: number;
  private readonly ready: Ready[] = [];
  private preparing: Promise<void> | undefined;
  private pages = 0;
  /** Aborted on cancel (Temporal's, or the cancel flag in MongoDB): stops new calls, aborts those in flight. */
  private readonly stop = new AbortController();
  private failure: unknown;
  private unstored = 0;
  private readonly writes: BulkWriter;
  private lastSignal = 0;
  private readonly began = Date.now();

  constructor(private readonly parts: RunnerParts, private readonly input: ShardWorkflowInput) {
    const saved = this.ctx.info.heartbeatDetails as ShardCheckpoint | undefined;
    this.counts = saved ? { ...saved.counts } : { succeeded: 0, failed: 0, reused: 0, canceled: 0 };
    this.next = saved ? saved.next : input.start;
    this.done = new Set(saved?.done ?? []);
    this.skip = new Set(this.done);
    this.cursor = this.next;
    this.writes = new BulkWriter(parts.deps);
    this.ctx.cancellationSignal.addEventListener('abort', () => this.stop.abort(), { once: true });
  }

  async execute(): Promise<ShardCounts> {
    const { deps, pools } = this.parts;
    const { input } = this;
    const ticker = setInterval(() => this.tick(), 1_000);
    const job = `${input.assignmentId}/${input.job.jobId}`;
    pools.join(job, this);
    this.job = job;
    let completed = false;
    try {
      await untilStored(() => deps.store.jobs.updateOne({ _id: job }, { $set: { status: 'running', updatedAt: new Date() } }));
      await Promise.all(Array.from({ length: Math.max(1, input.calls) }, () => this.caller()));
      while (this.helpers.size > 0) await Promise.all([...this.helpers]);
      await this.writes.drained();
      if (this.failure !== undefined) throw this.failure;
      this.ctx.heartbeat(this.checkpoint());
      if (this.stop.signal.aborted) await this.awaitCancel();
      completed = !this.stop.signal.aborted;
      return { ...this.counts };
    } finally {
      clearInterval(ticker);
      pools.leave(job, this, completed);
    }
  }

  /** Whether a prepared sample waits for a caller now (see JobPools). */
  hasWaiting(): boolean {
    return this.ready.length > 0 && !this.held && this.failure === undefined && !this.stop.signal.aborted;
  }

  /** Runs one prepared sample on a place another runner of the job lent (see JobPools). */
  runOnPlace(): Promise<void> {
    const item = this.ready.shift() as Ready;
    if (this.ready.length < this.input.calls * 2) this.prefetch();
    const run: Promise<void> = this.runOne(item)
      .catch((err: unknown) => void (this.failure ??= err))
      .finally(() => void this.helpers.delete(run));
    this.helpers.add(run);
    return run;
  }

  /** One place of the pool: takes prepared samples until none is left, or until a cancel. */
  private async caller(): Promise<void> {
    for (;;) {
      const item = await this.take();
      if (!item) break;
      await this.runOne(item);
    }
    // Every sample of the range has started (or the run stops): this place can serve the job's other runners.
    if (this.failure === undefined && !this.stop.signal.aborted) this.parts.pools.lend(this.job, this, 1);
  }

  /** The next sample to call, preparing pages ahead; waits while the assignment is paused. */
  private async take(): Promise<Ready | undefined> {
    for (;;) {
      if (this.failure !== undefined || this.stop.signal.aborted) return undefined;
      const hold = await this.parts.holds.get(this.input.assignmentId);
      if (isStopping(hold)) {
        this.stop.abort();
        return undefined;
      }
      if (hold.paused !== this.held) {
        this.held = hold.paused;
        if (!this.held) this.parts.pools.poke(this.job);
      }
      if (hold.paused) {
        await pauseFor(HOLD_FLAGS_MAX_AGE_MS, this.stop.signal);
        continue;
      }
      if (this.ready.length < this.input.calls * 2) this.prefetch();
      const item = this.ready.shift();
      if (item) return item;
      if (!this.preparing) return undefined;
      await this.preparing;
    }
  }

  private prefetch(): void {
    if (this.preparing || this.cursor >= this.input.end) return;
    const from = this.cursor;
    // The first page is one round of calls, so calls start after a small read rather than a full page.
    const to = Math.min(this.input.end, from + (this.pages++ === 0 ? Math.min(PAGE, this.input.calls) : PAGE));
    this.cursor = to;
    const indexes: number[] = [];
    for (let i = from; i < to; i++) if (!this.skip.has(i)) indexes.push(i);
    this.preparing = this.preparePage(indexes)
      .catch((err: unknown) => void (this.failure ??= err))
      .finally(() => void (this.preparing = undefined));
  }

  private async preparePage(indexes: number[]): Promise<void> {
    if (indexes.length === 0) return;
    const { input } = this;
    const { deps } = this.parts;
    // After a lost attempt, a result this assignment stored may have lost its sample record (the worker died
    // between the two writes): note which records exist, to tell its own runs from reuse below.
    const recorded = this.ctx.info.attempt > 1
      ? new Set((await untilStored(() => findByIds(deps.store, deps.store.samples, indexes.map((i) => this.recordId(i)), { _id: 1 }))).map((d) => d._id))
      : undefined;
    const { prepared, keyed } = await untilStored(() =>
      prepareSamples(deps, this.parts.configs, { assignmentId: input.assignmentId, job: input.job, mode: input.mode, indexes }),
    );
    const own = recorded ? await this.ownRuns(prepared.filter((p) => p.reused && !recorded.has(this.recordId(p.index)))) : new Set<number>();
    for (const p of prepared) {
      if (own.has(p.index)) {
        this.counts.succeeded += 1;
        this.markDone(p.index);
      } else if (p.reused) {
        this.counts.reused += 1;
        this.markDone(p.index);
      } else {
        this.ready.push({ prepared: p, keyed: keyed.get(p.index) as KeyedSample });
      }
    }
    this.parts.pools.poke(this.job);
  }

  /**
   * Of samples classified as reused with no record of this assignment, those whose stored result lists
   * this assignment: an earlier attempt ran and stored them. They are recorded as succeeded, as they were.
   */
  private async ownRuns(candidates: PreparedSample[]): Promise<Set<number>> {
    const own = new Set<number>();
    if (candidates.length === 0) return own;
    const { deps } = this.parts;
    const { input } = this;
    const results = await untilStored(() => findByIds(deps.store, deps.store.results, candidates.map((p) => p.sampleKey), { assignments: 1, score: 1, latencyMs: 1, usage: 1, cost: 1, input: 1, prediction: 1 }));
    const mine = new Map(results.filter((r) => r.assignments?.includes(input.assignmentId)).map((r) => [r._id, r]));
    const records = candidates.filter((p) => mine.has(p.sampleKey)).map((p) => {
      const r = mine.get(p.sampleKey) as (typeof results)[number];
      own.add(p.index);
      return {
        assignmentId: input.assignmentId, jobId: input.job.jobId, modelId: input.job.modelId, taskId: input.job.taskId, index: p.index,
        sampleKey: p.sampleKey, status: 'succeeded' as const, score: r.score?.value ?? null, passed: r.score?.passed ?? null, figures: figuresOf(r),
        text: searchTextOf(r.input, r.prediction),
      };
    });
    await untilStored(() => recordSampleDocs(deps, records, { resultsToo: false }));
    return own;
  }

  private recordId(index: number): string {
    return sampleRecordId(this.input.assignmentId, this.input.job.jobId, index);
  }

  /** Calls the model (or reads the stored prediction), scores, and queues the result for the bulk writer. */
  private async runOne({ prepared, keyed }: Ready): Promise<void> {
    const { deps, model, task, scorer } = this.parts;
    const sample = this.sampleInput(prepared);
    const waiters = [{ jobWorkflowId: this.input.jobWorkflowId, assignmentId: this.input.assignmentId, jobId: this.input.job.jobId, index: prepared.index }];
    let stored: StoredResult;
    try {
      const inferred = this.input.mode !== 'eval' && !prepared.predictionFrom
        ? await this.callWithRetry(keyed)
        : await untilStored(() => storedPrediction(deps, prepared.predictionFrom));
      let score: Score | null = null;
      if (this.input.mode !== 'infer') {
        score = await scorer.score({ prediction: inferred.prediction, target: keyed.sample.target, sample: keyed.sample }, { signal: this.stop.signal, env: deps.env });
      }
      stored = { sample, waiters, doc: resultDocOf(sample, keyed, inferred, model, score, task), score };
      deps.debug?.({ assignmentId: sample.assignmentId, jobId: sample.jobId, index: sample.index, prompt: inferred.input, prediction: inferred.prediction, target: keyed.sample.target, score: score?.value ?? null });
    } catch (err) {
      const status = this.stop.signal.aborted ? 'canceled' : 'failed';
      const message = err instanceof Error ? err.message : String(err);
      try {
        const failure = status === 'failed' ? failureRecordOf(err, task, keyed) : undefined;
        await untilStored(() => storeOutcome(deps, sample, waiters, status, status === 'canceled' ? 'canceled' : `${task.id}: ${message}`, failure));
        this.counts[status] += 1;
        this.markDone(prepared.index);
      } catch (storeErr) {
        this.failure ??= storeErr;
      }
      return;
    }
    // The place in the pool is free once the model answered; the write follows in bulk. Writes that fall
    // far behind hold the callers back, so memory stays bounded.
    this.unstored += 1;
    const written = this.writes.add(stored).then(
      () => {
        this.counts.succeeded += 1;
        this.markDone(prepared.index);
      },
      (err: unknown) => void (this.failure ??= err),
    ).finally(() => void (this.unstored -= 1));
    if (this.unstored > this.input.calls * 4) await written;
  }

  /** One model call, retried in process as the assignment's retry settings say. */
  private async callWithRetry(keyed: KeyedSample): Promise<Inferred> {
    const { retry } = this.input;
    const { model, task, callModel } = this.parts;
    const since = Date.now();
    for (let attempt = 1; ; attempt++) {
      const release = await this.parts.slots?.take(this.stop.signal);
      const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(model.timeoutMs + 30_000)]);
      try {
        return await callModel(this.input.assignmentId, model, task, keyed, signal, attempt, since);
      } catch (err) {
        release?.();
        // A spent budget stops the whole shard, as a cancel does: its samples end canceled, not failed.
        if (errorTypeOf(err) === ErrorTypes.BudgetExhausted) this.stop.abort();
        if (this.stop.signal.aborted) throw err;
        const advice = retryAdvice(err, NON_RETRYABLE_ERROR_TYPES);
        if (!advice.retryable || attempt >= retry.maxAttempts) throw withAttempts(err, attempt);
        const backoff = Math.min(retry.maxIntervalMs, retry.initialIntervalMs * retry.backoffCoefficient ** (attempt - 1));
        await pauseFor(advice.afterMs ?? backoff, this.stop.signal);
      } finally {
        release?.();
      }
    }
  }

  private sampleInput(p: PreparedSample): SampleWorkflowInput {
    const { input } = this;
    const { job } = input;
    return {
      version: 1, assignmentId: input.assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId,
      index: p.index, sampleKey: p.sampleKey, inferenceKey: p.inferenceKey, parentWorkflowId: input.jobWorkflowId,
      inferenceQueue: job.inferenceQueue, inferTimeoutMs: job.inferTimeoutMs, scoreInline: job.scoreInline, retry: input.retry,
      mode: input.mode, predictionFrom: p.predictionFrom,
    };
  }

  private markDone(index: number): void {
    this.done.add(index);
    while (this.done.has(this.next)) this.done.delete(this.next++);
  }

  private checkpoint(): ShardCheckpoint {
    return { next: this.next, done: [...this.done], counts: { ...this.counts } };
  }

  /** Every second: the checkpoint as heartbeat, and now and then the counts to the job. */
  private tick(): void {
    this.ctx.heartbeat(this.checkpoint());
    this.signalProgress();
  }

  /**
   * Sends the counts so far to the job, every 2 s at first and less often as the shard runs on (a
   * hundredth of its age, at most a minute apart), so a long shard adds few events to the job's history.
   */
  private signalProgress(): void {
    const now = Date.now();
    const every = Math.min(60_000, Math.max(2_000, (now - this.began) / 100));
    if (now - this.lastSignal < every) return;
    this.lastSignal = now;
    this.ctx.client.workflow.getHandle(this.input.jobWorkflowId)
      .signal(shardProgressSignal, { start: this.input.start, counts: { ...this.counts } })
      .catch(() => undefined);
  }

  /**
   * The cancel flag stopped the calls: wait for Temporal's cancel of this activity (it follows the flag),
   * so the shard ends canceled. Should it not come within a minute, the counts are returned as they are.
   */
  private async awaitCancel(): Promise<void> {
    await this.ctx.sleep(60_000);
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function pauseFor(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Notes on a call's error how many attempts were made, for the failed sample's record. */
function withAttempts(err: unknown, attempts: number): unknown {
  return err instanceof Error ? Object.assign(err, { attempts }) : err;
}

/** A failed sample's record: the error's type, the attempts made (1 when the call never ran), the sample's content. */
function failureRecordOf(err: unknown, task: TaskConfig, keyed: KeyedSample): FailureRecord {
  const attempts = (err as { attempts?: unknown } | null)?.attempts;
  return {
    errorType: errorTypeOf(err), attempts: typeof attempts === 'number' ? attempts : 1,
    sampleId: keyed.sample.id, target: keyed.sample.target ?? null, ...promptContent(task, keyed.sample),
    ...(keyed.sample.epoch ? { epoch: keyed.sample.epoch } : {}),
  };
}
