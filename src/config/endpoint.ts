import type { ModelConfig } from './schema';

/**
 * The name of the endpoint a model calls, which names its shared adaptive concurrency limit: the config's
 * `adaptiveConcurrency.endpoint` when set, else what identifies the server and the model on it. Never a secret:
 * headers and API keys are left out.
 */
export function endpointName(model: ModelConfig): string {
  if (model.adaptiveConcurrency?.endpoint) return model.adaptiveConcurrency.endpoint;
  const p = model.provider;
  switch (p.kind) {
    case 'openai':
      return `openai ${p.baseUrl.replace(/\/+$/, '')} ${p.model}`;
    case 'command':
      return `command ${JSON.stringify(p.command)}`;
    case 'simulated':
      return `simulated ${model.id}`;
  }
}
