import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { budgetSpent } from '../../../src/metrics/budget';
import { DEFAULT_OUTPUT_TOKENS, estimateCall } from '../../../src/metrics/estimate';
import { fitsBudget } from '../../../src/control/preview';

describe('budgets', () => {
  it('is spent once a limit is reached, and says which', () => {
    assert.equal(budgetSpent({ maxTokens: 100 }, { cost: 0, tokens: 99, calls: 3 }), undefined);
    assert.equal(budgetSpent({ maxTokens: 100 }, { cost: 0, tokens: 100, calls: 4 }), 'budget exhausted: 100 tokens of maxTokens 100 spent after 4 model calls');
    assert.equal(budgetSpent({ maxCost: 0.5 }, { cost: 0.5000001, tokens: 9, calls: 2 }), 'budget exhausted: cost 0.5 of maxCost 0.5 spent after 2 model calls');
    assert.match(budgetSpent({ maxCost: 1, maxTokens: 5 }, { cost: 2, tokens: 6, calls: 1 }) ?? '', /cost 2 of maxCost 1 and 6 tokens of maxTokens 5/);
    assert.equal(budgetSpent(undefined, { cost: 9, tokens: 9, calls: 9 }), undefined);
  });

  it('estimates a call: prompt characters / 4 in, max_tokens (else the default) out', () => {
    assert.deepEqual(estimateCall('x'.repeat(41), {}), { inputTokens: 11, outputTokens: DEFAULT_OUTPUT_TOKENS });
    assert.deepEqual(estimateCall('abcd', { maxTokens: 7 }), { inputTokens: 1, outputTokens: 7 });
  });

  it('an estimate fits a budget when it is within every limit', () => {
    const e = { inputTokens: 60, outputTokens: 40, cost: 0.2 };
    assert.equal(fitsBudget({ maxTokens: 100 }, e), true);
    assert.equal(fitsBudget({ maxTokens: 99 }, e), false);
    assert.equal(fitsBudget({ maxCost: 0.1, maxTokens: 1000 }, e), false);
  });
});
