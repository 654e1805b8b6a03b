import type { GenerationParams } from '../config/schema';
import type { TokenUsage } from './cost';

/**
 * Estimates of what model calls will use, for `start --dry-run`: no tokenizer is at hand (every model has
 * its own), so the prompt is counted as one token per CHARS_PER_TOKEN characters, the rule of thumb for
 * English text with GPT-style tokenizers, and the answer as long as max_tokens allows.
 */

/** Characters per token of the input estimate. */
export const CHARS_PER_TOKEN = 4;

/** Output tokens assumed per call when neither the model's params.maxTokens nor a task limit caps them. */
export const DEFAULT_OUTPUT_TOKENS = 256;

/** The estimated usage of one call with this rendered prompt and these (effective) generation parameters. */
export function estimateCall(prompt: string, params: GenerationParams): TokenUsage {
  return { inputTokens: Math.ceil(prompt.length / CHARS_PER_TOKEN), outputTokens: params.maxTokens ?? DEFAULT_OUTPUT_TOKENS };
}
