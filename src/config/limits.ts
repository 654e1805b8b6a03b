import type { GenerationParams, ModelConfig, TaskConfig } from './schema';

/**
 * A task's per-sample token limit reaches the model as max_tokens: the answer can never be longer than
 * what the whole sample may use. Both the request and its identity (the sample key) use these parameters.
 */
export function paramsFor(params: GenerationParams, task: TaskConfig): GenerationParams {
  const tokens = task.kind === 'agent' ? undefined : task.limits?.tokens;
  if (tokens === undefined || (params.maxTokens !== undefined && params.maxTokens <= tokens)) return params;
  return { ...params, maxTokens: tokens };
}

/** The model as one task asks it: its generation parameters capped by the task's token limit. */
export function modelFor(model: ModelConfig, task: TaskConfig): ModelConfig {
  const params = paramsFor(model.params, task);
  return params === model.params ? model : { ...model, params };
}
