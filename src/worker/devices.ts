import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ModelConfig } from '../config/schema';
import { ErrorTypes } from '../contracts/errors';

/**
 * The device manager of one worker process: it hands GPU slots and CPU slots to model calls and takes them
 * back. A call that needs N GPUs gets N distinct GPU ids; the ids go to the processes the call starts as
 * CUDA_VISIBLE_DEVICES. GPU ids are taken as given, so a machine without GPUs can run it too.
 */

/** How many devices a worker has. */
export interface DeviceManagerOptions {
  /** GPU ids as given on the command line (`--gpus 0,1,2,3`). */
  gpus: readonly string[];
  /** Calls that may share one GPU at once (`--slots-per-gpu`). */
  slotsPerGpu: number;
  /** Slots for calls that need no GPU (`--cpu-slots`); 0 means such calls are not counted. */
  cpuSlots: number;
}

/** Slots held by one call; `release()` may be called any number of times, only the first one counts. */
export interface SlotLease {
  /** Distinct GPU ids, in the order handed to CUDA_VISIBLE_DEVICES. */
  gpus: string[];
  /** Slot names held, such as `gpu0#0` or `cpu#3`: unique across live leases. */
  slots: string[];
  /** Environment for processes started under this lease. */
  env: Record<string, string>;
  release(): void;
}

/** A request that no amount of waiting can satisfy (more GPUs than the worker has). */
export class DeviceRequestError extends Error {
  override name = 'DeviceRequestError';
  readonly type = ErrorTypes.ConfigInvalid;
  readonly retryable = false;
}

/** A wait for a lease was given up because its signal aborted. */
export class LeaseAbortedError extends Error {
  override name = 'LeaseAbortedError';
  readonly type = ErrorTypes.Canceled;
  readonly retryable = false;
}

/** Busy and total slots, for metrics and tests. */
export interface DeviceUsage {
  gpuSlotsBusy: number;
  gpuSlotsTotal: number;
  cpuSlotsBusy: number;
  cpuSlotsTotal: number;
  waiting: number;
}

interface Waiter {
  gpus: number;
  resolve(lease: SlotLease): void;
  reject(err: Error): void;
  detach(): void;
}

/**
 * Leases slots first come, first served: a waiting call is never overtaken by a later call of the same kind
 * (GPU or CPU), so a call that needs four GPUs is not starved by a stream of one-GPU calls.
 */
export class DeviceManager {
  /** Free slot names per GPU id, lowest slot first. */
  private readonly freeGpu = new Map<string, string[]>();
  private readonly freeCpu: string[] = [];
  private readonly waiters: Waiter[] = [];

  constructor(readonly options: DeviceManagerOptions) {
    if (new Set(options.gpus).size !== options.gpus.length) throw new DeviceRequestError(`GPU ids must be distinct: ${options.gpus.join(',')}`);
    for (const gpu of options.gpus) {
      this.freeGpu.set(gpu, Array.from({ length: options.slotsPerGpu }, (_, i) => `gpu${gpu}#${i}`));
    }
    for (let i = 0; i < options.cpuSlots; i++) this.freeCpu.push(`cpu#${i}`);
  }

  /** Slots the worker has in all: what it may run at once. */
  get totalSlots(): number {
    return this.options.gpus.length * this.options.slotsPerGpu + this.options.cpuSlots;
  }

  /**
   * Leases slots for a call needing `gpus` GPUs (0: a CPU slot, or nothing counted when the worker has no
   * CPU slots). Waits in FIFO order; rejects with LeaseAbortedError when `signal` aborts first.
   */
  acquire(gpus: number, signal?: AbortSignal): Promise<SlotLease> {
    if (!Number.isInteger(gpus) || gpus < 0) return Promise.reject(new DeviceRequestError(`a call must need a whole number of GPUs, got ${gpus}`));
    if (gpus > this.options.gpus.length) {
      return Promise.reject(new DeviceRequestError(`a call needs ${gpus} GPUs but this worker has ${this.options.gpus.length} (${this.options.gpus.join(',') || 'none'})`));
    }
    if (signal?.aborted) return Promise.reject(new LeaseAbortedError('lease wait aborted'));
    return new Promise<SlotLease>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return;
        this.waiters.splice(at, 1);
        reject(new LeaseAbortedError('lease wait aborted'));
        // The aborted waiter may have been blocking later ones.
        this.grant();
      };
      const waiter: Waiter = { gpus, resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.grant();
    });
  }

  /** Busy and total slots right now. */
  usage(): DeviceUsage {
    const gpuTotal = this.options.gpus.length * this.options.slotsPerGpu;
    const gpuFree = [...this.freeGpu.values()].reduce((n, free) => n + free.length, 0);
    return {
      gpuSlotsBusy: gpuTotal - gpuFree, gpuSlotsTotal: gpuTotal,
      cpuSlotsBusy: this.options.cpuSlots - this.freeCpu.length, cpuSlotsTotal: this.options.cpuSlots,
      waiting: this.waiters.length,
    };
  }

  /** Hands out slots to waiters in order; each kind stops at its first waiter that cannot be served. */
  private grant(): void {
    let gpuBlocked = false;
    let cpuBlocked = false;
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      const blocked = w.gpus > 0 ? gpuBlocked : cpuBlocked;
      const slots = blocked ? undefined : w.gpus > 0 ? this.takeGpus(w.gpus) : this.takeCpu();
      if (!slots) {
        if (w.gpus > 0) gpuBlocked = true;
        else cpuBlocked = true;
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      w.detach();
      w.resolve(this.lease(slots.gpus, slots.names));
    }
  }

  /** The n GPUs with the most free slots (ties: the order given), or undefined when fewer than n have one. */
  private takeGpus(n: number): { gpus: string[]; names: string[] } | undefined {
    const candidates = this.options.gpus
      .map((gpu, order) => ({ gpu, order, free: this.freeGpu.get(gpu) ?? [] }))
      .filter((c) => c.free.length > 0)
      .sort((a, b) => b.free.length - a.free.length || a.order - b.order)
      .slice(0, n);
    if (candidates.length < n) return undefined;
    candidates.sort((a, b) => a.order - b.order);
    return { gpus: candidates.map((c) => c.gpu), names: candidates.map((c) => c.free.shift() as string) };
  }

  private takeCpu(): { gpus: string[]; names: string[] } | undefined {
    if (this.options.cpuSlots === 0) return { gpus: [], names: [] };
    const name = this.freeCpu.shift();
    return name === undefined ? undefined : { gpus: [], names: [name] };
  }

  private lease(gpus: string[], names: string[]): SlotLease {
    let released = false;
    // A CPU call on a GPU worker sees no GPU at all, rather than every GPU.
    const env: Record<string, string> = this.options.gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus.join(',') } : {};
    return {
      gpus, slots: names, env,
      release: () => {
        if (released) return;
        released = true;
        for (const name of names) this.put(name);
        this.grant();
      },
    };
  }

  private put(name: string): void {
    const gpu = /^gpu(.*)#\d+$/.exec(name)?.[1];
    const free = gpu === undefined ? this.freeCpu : this.freeGpu.get(gpu);
    if (!free) return;
    free.push(name);
    free.sort();
  }
}

/** How often a model call waiting for a lease heartbeats, so a cancel reaches it and it is not timed out. */
const WAIT_HEARTBEAT_MS = 1000;

/**
 * The `leaseDevices` hook of the infer activity: leases as many GPUs as the model's `resources.gpus`,
 * heartbeating while it waits and giving up when the activity is cancelled.
 */
export function leaseForActivity(manager: DeviceManager): (model: ModelConfig) => Promise<SlotLease> {
  return async (model) => {
    const ctx = Context.current();
    const timer = setInterval(() => ctx.heartbeat({ waitingForDevices: model.resources.gpus }), WAIT_HEARTBEAT_MS);
    try {
      return await manager.acquire(model.resources.gpus, ctx.cancellationSignal);
    } catch (err) {
      // The activity's finally never runs for a lease not granted, so map the error here: permanent or cancelled.
      if (err instanceof DeviceRequestError) throw ApplicationFailure.nonRetryable(err.message, err.type);
      if (err instanceof LeaseAbortedError) throw ctx.cancellationSignal.reason instanceof CancelledFailure ? ctx.cancellationSignal.reason : new CancelledFailure(err.message);
      throw err;
    } finally {
      clearInterval(timer);
    }
  };
}
