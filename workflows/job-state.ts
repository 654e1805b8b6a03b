import type {
  Counts, InFlightSample, JobPlan, JobProgress, JobWorkflowInput, PreparedSample, SampleOutcome, SampleStatus,
} from '../src/contracts';

/**
 * The bookkeeping of one job, kept apart from the workflow so it can be read and tested as plain logic:
 * a cursor over sample indexes, samples prepared ahead of time, the set in flight, and counts that never
 * count a sample twice.
 */
export class JobState {
  readonly job: JobPlan;
  cursor: number;
  paused: boolean;
  readonly counts: Counts;
  private readonly inFlight: Map<number, InFlightSample>;
  private readonly retryQueue: number[];
  /** Indexes whose start was refused by a closed execution of their key that could not be adopted, and how often. */
  private readonly refusals: Map<number, number>;
  /** Indexes handed to a prepare call that has not answered yet. */
  private readonly preparing = new Set<number>();
  /** Prepared samples waiting for room in the window. */
  private readonly ready: PreparedSample[] = [];
  private reportedDone = -1;

  constructor(input: JobWorkflowInput) {
    this.job = input.job;
    this.cursor = input.cursor;
    this.paused = input.paused;
    this.counts = { ...input.counts, running: input.inFlight.length };
    this.inFlight = new Map(input.inFlight.map((s) => [s.index, s]));
    this.retryQueue = [...input.retryQueue];
    this.refusals = new Map(input.refusals ?? []);
  }

  /** Free places in the window. */
  room(): number {
    return Math.max(0, this.job.window - this.inFlight.size);
  }

  /** Whether prepared samples can be launched now. */
  canLaunch(): boolean {
    return !this.paused && this.ready.length > 0 && this.room() > 0;
  }

  /** Whether to prepare more: nothing is being prepared and fewer than a window's worth wait. */
  shouldPrepare(): boolean {
    return this.preparing.size === 0 && this.hasUnplanned() && this.ready.length < this.job.window;
  }

  private hasUnplanned(): boolean {
    return this.retryQueue.length > 0 || this.cursor < this.job.total;
  }

  /** Every sample has ended. */
  finished(): boolean {
    return !this.hasUnplanned() && this.preparing.size === 0 && this.ready.length === 0 && this.inFlight.size === 0;
  }

  /** Takes up to `max` indexes to prepare (retries first). */
  takeForPrepare(max: number): number[] {
    const n = Math.max(0, Math.min(max, this.job.window * 2 - this.ready.length));
    const taken: number[] = [];
    while (taken.length < n && this.retryQueue.length > 0) taken.push(this.retryQueue.shift() as number);
    while (taken.length < n && this.cursor < this.job.total) taken.push(this.cursor++);
    for (const index of taken) this.preparing.add(index);
    return taken;
  }

  /** Stores what a prepare call answered; reused samples end at once. */
  prepared(samples: PreparedSample[]): PreparedSample[] {
    const reused: PreparedSample[] = [];
    for (const sample of samples) {
      if (!this.preparing.delete(sample.index)) continue;
      if (sample.reused) {
        this.counts.reused += 1;
        reused.push(sample);
      } else {
        this.ready.push(sample);
      }
    }
    return reused;
  }

  /** Gives back indexes whose prepare call failed, to be prepared again. */
  unprepared(indexes: number[]): void {
    for (const index of indexes) if (this.preparing.delete(index)) this.retryQueue.push(index);
  }

  /** Moves as many prepared samples into the window as it has room for; the caller starts them. */
  takeToLaunch(): PreparedSample[] {
    if (this.paused) return [];
    const batch = this.ready.splice(0, this.room());
    for (const s of batch) this.inFlight.set(s.index, { index: s.index, sampleKey: s.sampleKey, own: true });
    this.counts.running = this.inFlight.size;
    return batch;
  }

  /** Notes whether an in-flight index waits on an execution this job started (own) or adopted. */
  assign(index: number, sampleKey: string, own: boolean): void {
    if (this.inFlight.has(index)) this.inFlight.set(index, { index, sampleKey, own });
  }

  /** Records how an in-flight sample ended; a second report for the same index is ignored. */
  complete(index: number, status: SampleStatus): boolean {
    if (!this.inFlight.delete(index)) return false;
    this.refusals.delete(index);
    this.counts[status] += 1;
    this.counts.running = this.inFlight.size;
    return true;
  }

  /** An outcome signal from a sample execution. Canceled runs we did not ask to cancel are planned again. */
  onOutcome(outcome: SampleOutcome, cancelling: boolean): void {
    if (outcome.status === 'canceled' && !cancelling) return this.requeue(outcome.index);
    this.complete(outcome.index, outcome.status);
  }

  /** Puts an in-flight index back to be planned again (an adopted run ended without a result for us). */
  requeue(index: number): void {
    if (this.inFlight.delete(index)) this.retryQueue.push(index);
    this.counts.running = this.inFlight.size;
  }

  /**
   * An in-flight index whose start was refused and whose execution could not be adopted (it had closed):
   * planned again, so MongoDB decides whether it is done; the next start may replace the closed execution.
   */
  refused(index: number): void {
    this.refusals.set(index, this.refusalsOf(index) + 1);
    this.requeue(index);
  }

  /** How often the start of this index was refused by an execution that could not be adopted. */
  refusalsOf(index: number): number {
    return this.refusals.get(index) ?? 0;
  }

  /** Marks every sample never started as canceled, for the final counts of a canceled job. */
  cancelPending(): void {
    const pending = this.retryQueue.length + (this.job.total - this.cursor) + this.preparing.size + this.ready.length;
    this.retryQueue.length = 0;
    this.ready.length = 0;
    this.preparing.clear();
    this.cursor = this.job.total;
    this.counts.canceled += pending;
  }

  /** Samples in flight, for cancellation and continue-as-new. */
  inFlightSamples(): InFlightSample[] {
    return [...this.inFlight.values()].sort((a, b) => a.index - b.index);
  }

  /** The state to carry into the next run: prepared-but-unstarted samples are prepared again there. */
  toInput(base: JobWorkflowInput): JobWorkflowInput {
    const replan = [...this.ready.map((s) => s.index), ...this.preparing, ...this.retryQueue];
    return {
      ...base,
      cursor: this.cursor,
      inFlight: this.inFlightSamples(),
      retryQueue: replan,
      counts: { ...this.counts },
      paused: this.paused,
      runs: base.runs + 1,
      refusals: [...this.refusals].sort((a, b) => a[0] - b[0]),
    };
  }

  /** Whether enough has ended since the last report to tell the assignment (about 50 reports per job). */
  shouldReport(): boolean {
    const done = this.counts.succeeded + this.counts.failed + this.counts.reused + this.counts.canceled;
    if (this.reportedDone >= 0 && done - this.reportedDone < Math.max(1, Math.floor(this.job.total / 50))) return false;
    this.reportedDone = done;
    return true;
  }

  /** What the progress query answers. */
  progress(status: JobProgress['status'], runs: number): JobProgress {
    return { jobId: this.job.jobId, modelId: this.job.modelId, taskId: this.job.taskId, status, counts: { ...this.counts }, runs };
  }
}
