import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AssignmentConfigSchema, BudgetSchema, type ModelConfig, type TaskConfig } from '../../../src/config/schema';
import { modelFor, paramsFor } from '../../../src/config/limits';
import { keyedSamples } from '../../../src/plan/samples';

function parse(limits?: Record<string, unknown>, maxTokens?: number): { model: ModelConfig; task: TaskConfig } {
  const config = AssignmentConfigSchema.parse({
    name: 'l', models: [{ id: 'm', provider: { kind: 'simulated' }, params: maxTokens === undefined ? {} : { maxTokens } }],
    tasks: [{ id: 't', dataset: { samples: [{ question: 'What is 2 + 2?', target: '4' }] }, prompt: '{{question}}', ...(limits ? { limits } : {}) }],
  });
  return { model: config.models[0], task: config.tasks[0] };
}

describe('per-sample limits', () => {
  it('a token limit caps max_tokens, the lower of it and params.maxTokens', () => {
    assert.equal(paramsFor(parse({ tokens: 100 }).model.params, parse({ tokens: 100 }).task).maxTokens, 100);
    const tight = parse({ tokens: 100 }, 32);
    assert.equal(paramsFor(tight.model.params, tight.task).maxTokens, 32);
    const loose = parse({ tokens: 100 }, 500);
    assert.equal(paramsFor(loose.model.params, loose.task).maxTokens, 100);
    const none = parse();
    assert.equal(modelFor(none.model, none.task), none.model, 'no limit: the model as configured');
  });

  it('the token limit is part of the request (a new key), the time limit is not', async () => {
    const keyOf = async (limits?: Record<string, unknown>) => {
      const { model, task } = parse(limits);
      return (await keyedSamples(model, task, [0])).get(0)?.sampleKey;
    };
    const plain = await keyOf();
    assert.equal(await keyOf({ timeMs: 1000 }), plain);
    assert.notEqual(await keyOf({ tokens: 50 }), plain);
    assert.equal(await keyOf({ tokens: 50 }), await keyOf({ tokens: 50, timeMs: 5 }));
  });

  it('refuses unknown keys and non-positive limits, naming the field', () => {
    assert.throws(() => parse({ tokens: 0 }), /tokens/);
    assert.throws(() => parse({ seconds: 3 }), /seconds/);
  });

  it('a budget needs at least one limit', () => {
    assert.equal(BudgetSchema.safeParse({}).success, false);
    assert.equal(BudgetSchema.safeParse({ maxCost: 1 }).success, true);
    assert.equal(BudgetSchema.safeParse({ maxTokens: 1.5 }).success, false);
  });
});
