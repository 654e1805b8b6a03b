import type { AssignmentConfig, ModelConfig, TaskConfig } from '../config/schema';
import { INFERENCE_QUEUE, endpointInferenceQueue, gpuInferenceQueue } from '../contracts';

/** Scorers that are pure functions of the prediction: they run where the model call ran. */
export const INLINE_SCORERS: ReadonlySet<string> = new Set(['exact', 'includes', 'regex', 'numeric', 'choice', 'f1']);

/** The inference queue a model's calls go to: its own when rate limited, its GPU tag's, or the shared one. */
export function inferenceQueueFor(model: ModelConfig): string {
  if (model.rateLimit) return endpointInferenceQueue(model.id);
  if (model.resources.gpuType) return gpuInferenceQueue(model.resources.gpuType);
  return INFERENCE_QUEUE;
}

/** Samples in flight for one job: the tightest of the model's, the task's and the assignment's limits. */
export function windowFor(config: AssignmentConfig, model: ModelConfig): number {
  const c = config.concurrency;
  return Math.max(1, Math.min(model.concurrency, c.perModel ?? Infinity, c.perTask ?? Infinity, c.global));
}

/**
 * The widest window `fanout: auto` runs per sample. A Temporal dev server on 2 cores starts and closes
 * ~20-40 sample workflows per second (docs/performance.md), so wider windows at a second of latency
 * would stay partly empty; they run in batch fan-out, which keeps them full.
 */
export const AUTO_PER_SAMPLE_MAX_WINDOW = 16;

/** The fan-out a job runs with, and why: the config's choice, or what `auto` chose for the job's window. */
export function fanoutFor(config: AssignmentConfig, model: ModelConfig, task: TaskConfig): { fanout: 'per-sample' | 'batch'; reason: string } {
  if (config.fanout !== 'auto') return { fanout: config.fanout, reason: 'set in the config' };
  if (task.kind === 'agent') return { fanout: 'per-sample', reason: 'auto: agent task' };
  const window = windowFor(config, model);
  return window <= AUTO_PER_SAMPLE_MAX_WINDOW
    ? { fanout: 'per-sample', reason: `auto: window ${window} <= ${AUTO_PER_SAMPLE_MAX_WINDOW}` }
    : { fanout: 'batch', reason: `auto: window ${window} > ${AUTO_PER_SAMPLE_MAX_WINDOW}` };
}

/**
 * Whether a per-sample job runs its model calls as local activities of the sample workflows, on the shared
 * inference queue: one workflow task per sample instead of two activity tasks. Only where nothing else
 * needs the activity path: a rate-limited model's queue limit is the server's and does not apply to local
 * activities, a GPU model keeps its device leases on its own queue, an agent task runs episodes, and a
 * scorer with a service of its own scores on the scoring queue. The stage decides too (see job-launch.ts).
 */
export function localCallOf(fanout: 'per-sample' | 'batch', model: ModelConfig, task: TaskConfig): boolean {
  if (fanout !== 'per-sample' || task.kind === 'agent' || !INLINE_SCORERS.has(task.scorer.kind)) return false;
  const online = model.provider.kind !== 'openai' || !model.provider.batch;
  return online && inferenceQueueFor(model) === INFERENCE_QUEUE && model.resources.gpus === 0;
}

/** How a per-sample job calls its model, for validate and start --dry-run. */
export function sampleCallLabel(fanout: 'per-sample' | 'batch', model: ModelConfig, task: TaskConfig): string {
  return localCallOf(fanout, model, task) ? 'model call local to each sample workflow' : 'model call as an activity';
}

/**
 * The inference queues an assignment's models use beyond the shared one: GPU-tagged queues, and rate-
 * limited per-model queues with their limit. An all-in-one worker (`run`, the demo) polls all of them.
 */
export function modelQueuesOf(config: AssignmentConfig): { extraInferenceQueues: string[]; queueRates: Record<string, number> } {
  const extra = new Set<string>();
  const queueRates: Record<string, number> = {};
  for (const model of config.models) {
    const queue = inferenceQueueFor(model);
    if (model.rateLimit) queueRates[queue] = model.rateLimit.requestsPerSecond;
    else if (queue !== INFERENCE_QUEUE) extra.add(queue);
  }
  return { extraInferenceQueues: [...extra], queueRates };
}

/** How a model in provider batch mode sends its requests, for validate and start --dry-run; undefined for online models. */
export function providerBatchLabel(model: ModelConfig): string | undefined {
  if (model.provider.kind !== 'openai' || !model.provider.batch) return undefined;
  const b = model.provider.batch;
  return `provider batches (at most ${b.maxRequests} requests each, ${b.maxInFlight} at once per job, polled every ${b.pollIntervalMs / 1000} s)`;
}
