/**
 * A count of places shared by everything in one process that takes them: the worker's `--slots` for the
 * model calls of shard runners, whose calls run inside one activity each and so are not counted by the
 * worker's activity slots.
 */
export class Slots {
  private free: number;
  private waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Waits for a free place and takes it; returns its release (safe to call twice). Rejects on abort. */
  async take(signal: AbortSignal): Promise<() => void> {
    while (this.free === 0) {
      if (signal.aborted) throw new Error('aborted while waiting for a call slot');
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (signal.aborted) throw new Error('aborted while waiting for a call slot');
    this.free -= 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free += 1;
      // Every waiter looks again: one takes the place, the others wait anew (an aborted one has left).
      const woken = this.waiting;
      this.waiting = [];
      for (const wake of woken) wake();
    };
  }

  /** Places taken now. */
  get taken(): number {
    return this.size - this.free;
  }
}

const perProcess = new WeakMap<object, Slots>();

/**
 * The one count of model-call places for everything built over the same dependencies (one worker process):
 * per-sample calls and shard runners alike, whichever queue their task came from, so `--slots` bounds the
 * worker, not each queue it polls. Undefined when the worker sets no count.
 */
export function processSlots(deps: { callSlots?: number }): Slots | undefined {
  if (!deps.callSlots) return undefined;
  let slots = perProcess.get(deps);
  if (!slots) perProcess.set(deps, (slots = new Slots(deps.callSlots)));
  return slots;
}
