import type { BudgetConfig } from '../config/schema';

/** What an assignment has spent on model calls, as its document in MongoDB counts it. */
export interface Spend {
  cost: number;
  tokens: number;
  calls: number;
}

/** Nothing spent yet. */
export const NO_SPEND: Spend = { cost: 0, tokens: 0, calls: 0 };

/**
 * Why no further model call may start under `budget` after `spend`, or undefined while some is left. A
 * limit is spent once reached: a call that would start at exactly the limit could only go past it.
 */
export function budgetSpent(budget: BudgetConfig | undefined, spend: Spend): string | undefined {
  if (!budget) return undefined;
  const parts: string[] = [];
  if (budget.maxCost !== undefined && spend.cost >= budget.maxCost) parts.push(`cost ${round(spend.cost)} of maxCost ${budget.maxCost}`);
  if (budget.maxTokens !== undefined && spend.tokens >= budget.maxTokens) parts.push(`${spend.tokens} tokens of maxTokens ${budget.maxTokens}`);
  if (parts.length === 0) return undefined;
  return `budget exhausted: ${parts.join(' and ')} spent after ${spend.calls} model calls`;
}

function round(n: number): string {
  return Number(n.toPrecision(6)).toString();
}
