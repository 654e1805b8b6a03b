import type { ModelConfig } from '../config/schema';
import { CommandProvider } from './command';
import { OpenAIProvider } from './openai';
import { SimulatedProvider } from './simulated';
import type { Provider } from './types';

/** Model providers: one interface over OpenAI-compatible endpoints, local programs and a simulated model. */
export type { ChatMessage, InferenceRequest, Prediction, Provider, ProviderContext, Usage } from './types';
export { ProviderError, parseRetryAfter, isRetryableStatus, abortedError } from './errors';
export { renderPrompt, fillTemplate, PromptError, storedMessages, truncationMarker, type StoredMessage } from './prompt';
export { CALL_LOG_ENV, logCall } from './call-log';
export type { CallLogEntry } from './call-log';
export { runCommand, PERMANENT_EXIT_CODE } from './run-command';
export { SimulatedProvider, sampleLatency } from './simulated';
export { OpenAIProvider } from './openai';
export { CommandProvider } from './command';

/** The provider for a model config. Cheap: no connection is made and no secret is read until a call. */
export function createProvider(model: ModelConfig): Provider {
  switch (model.provider.kind) {
    case 'openai':
      return new OpenAIProvider(model);
    case 'command':
      return new CommandProvider(model);
    case 'simulated':
      return new SimulatedProvider(model.id, model.provider);
  }
}
