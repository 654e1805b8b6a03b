import { UsageError } from '../cli/errors';
import { ModelConfigSchema } from '../config/schema-model';
import { endpointInferenceQueue, gpuInferenceQueue, type WorkerType } from '../contracts/queues';
import type { Store } from '../store/store';
import { DeviceManager } from './devices';
import { localIdentity, type WorkerIdentity } from './identity';

/**
 * Turns the flags of `evalctl worker` into what the process runs: its slots, device manager, queues with
 * their rate limits, and identity. Rate limits are explicit (`--queue-rate model=rps`): the worker must
 * know a queue's limit before it polls, and the server applies whichever limit the last poller sent, so
 * the value is part of the worker's deployment, not of whichever assignment happens to be running.
 * Without such flags an inference (or all-in-one) worker follows the rate-limited models of the assignments
 * not yet ended: it starts polling each one's queue, with the limit from the config snapshot, as soon as an
 * assignment that uses it appears (`--models id...` follows only those; `--no-model-queues` none).
 */

/** The flags as commander hands them over. */
export interface WorkerFlags {
  slots?: string;
  queue?: string[];
  gpus?: string;
  gpuType?: string;
  slotsPerGpu?: string;
  cpuSlots?: string;
  metricsPort?: string;
  models?: string[];
  queueRate?: string[];
  name?: string;
  /** commander's `--no-model-queues` arrives as `modelQueues: false`. */
  modelQueues?: boolean;
}

/**
 * Which rate-limited models' queues a worker picks up from the live assignments, as they appear:
 * every rate-limited model it can serve, the ones `--models` names, or none.
 */
export type FollowModels = { kind: 'all'; gpuType?: string } | { kind: 'some'; ids: string[] } | { kind: 'none' };

/** What one worker process runs, decided from its flags. */
export interface WorkerLaunch {
  identity: WorkerIdentity;
  /** Concurrent inference activities per polled queue. */
  slots: number;
  devices?: DeviceManager;
  /** Whether the shared `evalctl-inference` queue is polled (not by a GPU-only worker). */
  sharedInference: boolean;
  /** Extra queues without a limit: `--queue` and the GPU tag's queue. */
  extraQueues: string[];
  /** Per-model rate limits: model id -> requests per second. */
  modelRates: Record<string, number>;
  /** Rate-limited models whose queues are picked up from MongoDB while the worker runs. */
  follow: FollowModels;
  metricsPort?: number;
}

function int(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  // Number('') is 0: an empty value must not pass as port 0 or as a count.
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** Parses `model=rps` pairs. */
export function parseQueueRates(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const m = /^([^=\s]+)=([0-9]*\.?[0-9]+)$/.exec(pair);
    const rps = m ? Number(m[2]) : NaN;
    if (!m || !(rps > 0)) throw new UsageError(`--queue-rate: expected <model-id>=<requests per second>, like gpt4=5; got "${pair}"`);
    out[m[1]] = rps;
  }
  return out;
}

/** Validates the flags of `evalctl worker <type>`; bad combinations are usage errors (exit 2). */
export function planWorker(type: WorkerType, flags: WorkerFlags): WorkerLaunch {
  const gpus = flags.gpus === undefined ? undefined : flags.gpus.split(',').map((g) => g.trim()).filter(Boolean);
  if ((gpus === undefined) !== (flags.gpuType === undefined)) throw new UsageError('--gpus and --gpu-type go together: the tag picks the queue, the ids are handed out');
  if (gpus && gpus.length === 0) throw new UsageError('--gpus: expected GPU ids like 0,1,2,3');
  if (flags.gpuType !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(flags.gpuType)) throw new UsageError(`--gpu-type: "${flags.gpuType}" is not a tag (letters, digits, ".", "_", "-")`);
  if ((gpus || flags.cpuSlots !== undefined) && type !== 'inference' && type !== 'all') throw new UsageError('--gpus and --cpu-slots are for inference workers');
  if ((gpus || flags.cpuSlots !== undefined) && flags.slots !== undefined) throw new UsageError('--slots is for workers without a device manager; with --gpus or --cpu-slots the slots are counted from them');
  const slotsPerGpu = int('--slots-per-gpu', flags.slotsPerGpu, 1, 64) ?? 1;
  const cpuSlots = int('--cpu-slots', flags.cpuSlots, 1, 10_000);
  const devices = gpus || cpuSlots !== undefined ? new DeviceManager({ gpus: gpus ?? [], slotsPerGpu, cpuSlots: cpuSlots ?? 0 }) : undefined;
  const slots = devices?.totalSlots ?? int('--slots', flags.slots, 1, 10_000) ?? 64;
  const modelRates = parseQueueRates(flags.queueRate ?? []);
  const extraQueues = [...(flags.gpuType ? [gpuInferenceQueue(flags.gpuType)] : []), ...(flags.queue ?? [])];
  return {
    identity: localIdentity({ type, slots, gpuType: flags.gpuType, name: flags.name }),
    slots, devices, extraQueues, modelRates,
    sharedInference: !gpus || cpuSlots !== undefined,
    follow: followOf(type, flags, modelRates, !gpus || cpuSlots !== undefined),
    metricsPort: int('--metrics-port', flags.metricsPort, 0, 65_535),
  };
}

function followOf(type: WorkerType, flags: WorkerFlags, fixed: Record<string, number>, servesShared: boolean): FollowModels {
  if (type !== 'inference' && type !== 'all') return { kind: 'none' };
  if (flags.models?.length) return { kind: 'some', ids: flags.models.filter((m) => fixed[m] === undefined) };
  if (flags.modelQueues === false || flags.queueRate?.length || !servesShared) return { kind: 'none' };
  return { kind: 'all', gpuType: flags.gpuType };
}

/** Queue name -> limit, for run-worker's `queueRates`. */
export function queueRatesOf(modelRates: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(modelRates).map(([model, rps]) => [endpointInferenceQueue(model), rps]));
}

/**
 * The rate limits of the rate-limited models that the assignments not yet ended use, read from their config
 * snapshots: model id -> requests per second. When snapshots disagree, the lowest limit wins. `follow`
 * picks the models: all (those of the worker's GPU tag, or without one), or the named ones.
 */
export async function liveModelRates(store: Store, follow: FollowModels): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (follow.kind === 'none') return out;
  const live = store.assignments.find({ status: { $in: ['pending', 'running', 'paused'] } }, { projection: { config: 1 } });
  for await (const doc of live) {
    const models = Array.isArray(doc.config.models) ? doc.config.models : [];
    for (const raw of models) {
      const model = ModelConfigSchema.safeParse(raw);
      if (!model.success || !model.data.rateLimit) continue;
      const wanted = follow.kind === 'some' ? follow.ids.includes(model.data.id) : (model.data.resources.gpuType ?? undefined) === follow.gpuType;
      if (!wanted) continue;
      out[model.data.id] = Math.min(out[model.data.id] ?? Infinity, model.data.rateLimit.requestsPerSecond);
    }
  }
  return out;
}
