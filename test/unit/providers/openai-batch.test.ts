import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigSchema } from '../../../src/config/schema';
import { parseBatchFiles, requestLine } from '../../../src/providers/openai-batch';

/** Request lines and output parsing of the provider batch path, in the shapes of OpenAI's Batch API. */

const model = ModelConfigSchema.parse({ id: 'm', provider: { kind: 'openai', model: 'gpt-x', batch: {} }, params: { temperature: 0, maxTokens: 8 } });

describe('provider batch lines', () => {
  it('a request line carries the online body: model, messages and generation parameters', () => {
    const line = requestLine(model, 'key1', { messages: [{ role: 'user', content: 'hi' }], prompt: 'hi' });
    assert.deepEqual(line, { custom_id: 'key1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], temperature: 0, max_tokens: 8 } });
  });

  it('output and error lines: answers, HTTP failures, request errors, and requests an expired batch never ran', () => {
    const output = [
      { id: 'r1', custom_id: 'a', response: { status_code: 200, request_id: 'q1', body: { choices: [{ message: { content: '42' } }], usage: { prompt_tokens: 7, completion_tokens: 1 } } }, error: null },
      'not json',
    ].map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
    const errors = [
      { id: 'r2', custom_id: 'b', response: { status_code: 400, request_id: 'q2', body: { error: { message: 'bad', type: 'invalid_request_error' } } }, error: null },
      { id: 'r3', custom_id: 'c', response: null, error: { code: 'batch_expired', message: 'expired' } },
      { id: 'r4', custom_id: 'd', response: null, error: { code: 'server_error', message: 'boom' } },
    ].map((l) => JSON.stringify(l)).join('\n');
    const answers = parseBatchFiles(output, errors);
    assert.deepEqual(answers.get('a'), { kind: 'answered', text: '42', usage: { inputTokens: 7, outputTokens: 1 } });
    assert.deepEqual(answers.get('b'), { kind: 'failed', error: 'HTTP 400 (invalid_request_error): bad' });
    assert.deepEqual(answers.get('c'), { kind: 'unanswered', error: 'batch_expired: expired' });
    assert.deepEqual(answers.get('d'), { kind: 'failed', error: 'server_error: boom' });
    assert.equal(answers.size, 4);
  });
});
