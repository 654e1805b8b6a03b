import type { Counts, InFlightSample, JobPlan, JobProgress, JobWorkflowInput, SampleOutcome, SampleStatus } from '../src/contracts';

/**
 * The bookkeeping of one job, kept apart from the workflow so it can be read and tested as plain logic:
 * a cursor over sample indexes, the set in flight, and counts that never count a sample twice.
 */
export class JobState {
  readonly job: JobPlan;
  cursor: number;
  paused: boolean;
  readonly counts: Counts;
  private readonly inFlight: Map<number, InFlightSample>;
  private readonly retryQueue: number[];

  constructor(input: JobWorkflowInput) {
    this.job = input.job;
    this.cursor = input.cursor;
    this.paused = input.paused;
    this.counts = { ...input.counts, running: input.inFlight.length };
    this.inFlight = new Map(input.inFlight.map((s) => [s.index, s]));
    this.retryQueue = [...input.retryQueue];
  }

  /** Free places in the window. */
  room(): number {
    return Math.max(0, this.job.window - this.inFlight.size);
  }

  /** Whether another batch may be started now. */
  canStart(minBatch: number): boolean {
    if (this.paused || !this.hasPending()) return false;
    // Batch starts to save workflow tasks, but never wait for more room than a small window can give.
    const wanted = Math.min(minBatch, Math.max(1, Math.floor(this.job.window / 4)), this.pendingCount());
    return this.room() >= wanted;
  }

  /** Indexes not yet handed out. */
  hasPending(): boolean {
    return this.retryQueue.length > 0 || this.cursor < this.job.total;
  }

  private pendingCount(): number {
    return this.retryQueue.length + (this.job.total - this.cursor);
  }

  /** Every sample has ended. */
  finished(): boolean {
    return !this.hasPending() && this.inFlight.size === 0;
  }

  /** Takes up to `max` indexes (retries first) and marks them in flight before any child starts. */
  take(max: number): number[] {
    const n = Math.min(max, this.room());
    const taken: number[] = [];
    while (taken.length < n && this.retryQueue.length > 0) taken.push(this.retryQueue.shift() as number);
    while (taken.length < n && this.cursor < this.job.total) taken.push(this.cursor++);
    for (const index of taken) this.inFlight.set(index, { index, sampleKey: '', own: false });
    this.counts.running = this.inFlight.size;
    return taken;
  }

  /** Records how a sample ended; a second report for the same index is ignored. */
  complete(index: number, status: SampleStatus): boolean {
    if (!this.inFlight.delete(index)) return false;
    this.counts[status] += 1;
    this.counts.running = this.inFlight.size;
    return true;
  }

  /** An outcome signal from a sample execution. Canceled runs we did not ask to cancel are planned again. */
  onOutcome(outcome: SampleOutcome, cancelling: boolean): void {
    if (outcome.status === 'canceled' && !cancelling) {
      if (this.inFlight.delete(outcome.index)) this.retryQueue.push(outcome.index);
      this.counts.running = this.inFlight.size;
      return;
    }
    this.complete(outcome.index, outcome.status);
  }

  /** Puts an index back to be planned again (adoption found the run already gone). */
  requeue(index: number): void {
    if (this.inFlight.delete(index)) this.retryQueue.push(index);
    this.counts.running = this.inFlight.size;
  }

  /** Marks every index never started as canceled, for the final counts of a canceled job. */
  cancelPending(): void {
    const pending = this.pendingCount();
    this.retryQueue.length = 0;
    this.cursor = this.job.total;
    this.counts.canceled += pending;
  }

  /** Notes which execution an in-flight index waits on: one this job started (own) or an adopted one. */
  assign(index: number, sampleKey: string, own: boolean): void {
    if (this.inFlight.has(index)) this.inFlight.set(index, { index, sampleKey, own });
  }

  /** Samples in flight, for cancellation and continue-as-new. */
  inFlightSamples(): InFlightSample[] {
    return [...this.inFlight.values()].sort((a, b) => a.index - b.index);
  }

  /** The state to carry into the next run. */
  toInput(base: JobWorkflowInput): JobWorkflowInput {
    return {
      ...base,
      cursor: this.cursor,
      inFlight: this.inFlightSamples(),
      retryQueue: [...this.retryQueue],
      counts: { ...this.counts },
      paused: this.paused,
      runs: base.runs + 1,
    };
  }

  private reportedDone = -1;

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
