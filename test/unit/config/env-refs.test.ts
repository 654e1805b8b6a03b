import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envRefNames, redactSecrets, resolveEnvRefs, SecretMissingError } from '../../../src/config/env-refs';
import { ErrorTypes } from '../../../src/contracts/errors';

describe('${NAME} references', () => {
  it('resolves deeply at call time and leaves the input untouched', () => {
    const value = { apiKey: '${KEY}', headers: { Authorization: 'Bearer ${TOKEN}' }, list: ['${KEY}-x', 3] };
    const resolved = resolveEnvRefs(value, { KEY: 'k1', TOKEN: 't1' });
    assert.deepEqual(resolved, { apiKey: 'k1', headers: { Authorization: 'Bearer t1' }, list: ['k1-x', 3] });
    assert.equal(value.apiKey, '${KEY}');
    assert.deepEqual(envRefNames(value).sort(), ['KEY', 'TOKEN']);
  });

  it('a missing variable is a non-retryable SecretMissing error naming it', () => {
    assert.throws(
      () => resolveEnvRefs({ apiKey: '${OPENAI_API_KEY}' }, {}),
      (err: unknown) =>
        err instanceof SecretMissingError &&
        err.type === ErrorTypes.SecretMissing &&
        err.retryable === false &&
        err.message.includes('OPENAI_API_KEY'),
    );
  });

  it('redacts secret-looking values in logs', () => {
    const env = { OPENAI_API_KEY: 'sk-abcdef123456', HOME: '/home/u', CUSTOM: 'visible-value' };
    assert.equal(redactSecrets('key=sk-abcdef123456 home=/home/u', env), 'key=${OPENAI_API_KEY} home=/home/u');
    assert.equal(redactSecrets('v=visible-value', env, ['CUSTOM']), 'v=${CUSTOM}');
  });
});
