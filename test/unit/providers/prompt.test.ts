import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TaskConfigSchema } from '../../../src/config/schema';
import { PromptError, renderPrompt } from '../../../src/providers';

const task = (over: Record<string, unknown>) => TaskConfigSchema.parse({ id: 't', dataset: { samples: [] }, ...over });
const sample = { id: 's1', fields: { question: 'What is 2+2?', meta: { topic: 'math' }, n: 3 } };

describe('renderPrompt', () => {
  it('a template string becomes one user message; non-strings are JSON; nested fields by dots', () => {
    const r = renderPrompt(task({ prompt: 'Q ({{meta.topic}}, {{ n }}): {{question}}' }), sample);
    assert.deepEqual(r.messages, [{ role: 'user', content: 'Q (math, 3): What is 2+2?' }]);
    assert.equal(r.prompt, 'Q (math, 3): What is 2+2?');
  });

  it('system first, then few-shot turns with assistant answers, then the sample', () => {
    const r = renderPrompt(
      task({
        prompt: [{ role: 'system', content: 'Answer with a number.' }, { role: 'user', content: '{{question}}' }],
        fewShot: [{ fields: { question: '1+1?' }, target: '2' }],
      }),
      sample,
    );
    assert.deepEqual(r.messages, [
      { role: 'system', content: 'Answer with a number.' },
      { role: 'user', content: '1+1?' },
      { role: 'assistant', content: '2' },
      { role: 'user', content: 'What is 2+2?' },
    ]);
    assert.equal(r.prompt, 'Answer with a number.\n\n1+1?\n\n2\n\nWhat is 2+2?');
  });

  it('a missing field is a clear error naming the slot and the sample', () => {
    assert.throws(() => renderPrompt(task({ prompt: '{{answer}}' }), sample), (err: unknown) => err instanceof PromptError && err.message === 'prompt slot {{answer}} has no value in sample s1 (fields: question, meta, n)');
    assert.throws(() => renderPrompt(task({ prompt: '{{question}}', fewShot: [{ fields: {}, target: 'x' }] }), sample), /no value in fewShot\[0\]/);
  });
});
