/** Task queue names shared by workflows, workers and the CLI. One queue per task type. */

export const ORCHESTRATOR_QUEUE = 'evalctl-orchestrator';
export const INFERENCE_QUEUE = 'evalctl-inference';
export const SCORING_QUEUE = 'evalctl-scoring';

/** Prefix shared by every evalctl queue, used by `workers list` to find them. */
export const QUEUE_PREFIX = 'evalctl-';

/** The worker types `evalctl worker <type>` accepts; `task` serves one agent environment (`worker task <name>`). */
export const WORKER_TYPES = ['orchestrator', 'inference', 'scoring', 'all', 'task'] as const;
export type WorkerType = (typeof WORKER_TYPES)[number];

/** Inference queue for a GPU tag: GPU workers of one type poll only their tag's queue. */
export function gpuInferenceQueue(gpuType: string): string {
  return `${INFERENCE_QUEUE}.gpu-${gpuType}`;
}

/** Queue of its own for a rate-limited model, so the limit holds across every worker polling it. */
export function endpointInferenceQueue(modelId: string): string {
  return `${INFERENCE_QUEUE}.model-${modelId}`;
}
