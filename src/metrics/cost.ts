import type { ModelConfig } from '../config/schema';

/** Token counts of one or many calls. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** Cost of a call's usage at a model's prices (per 1,000 tokens). */
export function costOf(usage: TokenUsage, pricing: ModelConfig['pricing']): number {
  return (usage.inputTokens / 1000) * pricing.inputPer1k + (usage.outputTokens / 1000) * pricing.outputPer1k;
}

/** Sum of token usages and costs, for job and assignment totals. */
export function sumUsage(items: ReadonlyArray<{ usage: TokenUsage; cost?: number }>): TokenUsage & { cost: number } {
  const total = { inputTokens: 0, outputTokens: 0, cost: 0 };
  for (const item of items) {
    total.inputTokens += item.usage.inputTokens;
    total.outputTokens += item.usage.outputTokens;
    total.cost += item.cost ?? 0;
  }
  return total;
}
