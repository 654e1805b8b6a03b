import type { AssignmentConfig, ModelConfig } from '../config/schema';
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
