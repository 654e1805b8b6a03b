import type { Worker } from '@temporalio/worker';

/**
 * The Temporal workers of one process, which can grow while it runs (a rate-limited model's queue picked up
 * when an assignment needs it) and have one queue's worker replaced (its limit changed). `done` settles once
 * every worker has stopped after `shutdown`, or when one fails, after the others were stopped.
 */
export class WorkerGroup {
  private readonly runs = new Map<Worker, Promise<void>>();
  private readonly byQueue = new Map<string, Worker>();
  private stopping = false;
  private failure: unknown;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Settles when every worker has stopped: rejects with the first failure, if a worker failed. */
  readonly done: Promise<void>;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
  }

  /** The workers running now. */
  get workers(): Worker[] {
    return [...this.runs.keys()];
  }

  /** Runs a worker as part of the group; after `shutdown` it is stopped at once. */
  add(worker: Worker): void {
    const run = worker.run().then(
      () => this.ended(worker),
      (err: unknown) => {
        this.failure ??= err;
        this.ended(worker);
        void this.shutdown();
      },
    );
    this.runs.set(worker, run);
    this.byQueue.set(worker.options.taskQueue, worker);
    if (this.stopping) worker.shutdown();
  }

  /** Puts `worker` in the place of the one polling its queue, which is stopped gracefully (its tasks finish). */
  async replace(worker: Worker): Promise<void> {
    const old = this.byQueue.get(worker.options.taskQueue);
    this.add(worker);
    if (old && old !== worker) {
      if (old.getState() === 'RUNNING') old.shutdown();
      await this.runs.get(old);
    }
  }

  /** Stops every worker (in-flight activities are handed back after the grace time) and waits for `done`. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const w of this.runs.keys()) if (w.getState() === 'RUNNING') w.shutdown();
    this.check();
    await this.done.catch(() => undefined);
  }

  private ended(worker: Worker): void {
    this.runs.delete(worker);
    if (this.byQueue.get(worker.options.taskQueue) === worker) this.byQueue.delete(worker.options.taskQueue);
    this.check();
  }

  private check(): void {
    if (!this.stopping || this.runs.size > 0) return;
    if (this.failure !== undefined) this.settle?.reject(this.failure);
    else this.settle?.resolve();
  }
}
