import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TaskConfigSchema } from '../../../src/config/schema';
import { PromptError, renderPrompt, storedMessages, truncationMarker } from '../../../src/providers';

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

describe('storedMessages', () => {
  it('keeps short messages as they are and cuts long ones with a marker counting what was cut', () => {
    const long = 'x'.repeat(50);
    const stored = storedMessages([{ role: 'system', content: 'be brief' }, { role: 'user', content: long }], 20, 100);
    assert.deepEqual(stored[0], { role: 'system', content: 'be brief' });
    assert.equal(stored[1].truncated, 30);
    assert.equal(stored[1].content, `${'x'.repeat(20)}${truncationMarker(30)}`);
    assert.match(stored[1].content, /30 more characters not stored/);
  });

  it('caps the whole conversation: messages past the budget keep nothing but the marker', () => {
    const stored = storedMessages([{ role: 'user', content: 'a'.repeat(8) }, { role: 'assistant', content: 'b'.repeat(8) }, { role: 'user', content: 'c'.repeat(8) }], 100, 12);
    assert.deepEqual(stored.map((m) => m.truncated ?? 0), [0, 4, 8]);
    assert.equal(stored[2].content, truncationMarker(8));
  });
});
