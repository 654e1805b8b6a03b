import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goHelpMessage, goVersionAtLeast, MIN_GO_VERSION, parseGoVersion, requireGo } from '../../../src/dev/go';

test('parseGoVersion reads go version output, with and without a patch number', () => {
  assert.deepEqual(parseGoVersion('go version go1.26.8 linux/amd64'), { major: 1, minor: 26, patch: 8 });
  assert.deepEqual(parseGoVersion('go version go1.25 darwin/arm64'), { major: 1, minor: 25, patch: 0 });
  assert.deepEqual(parseGoVersion('go version go1.25rc1 linux/amd64'), { major: 1, minor: 25, patch: 0 });
  assert.equal(parseGoVersion('bash: go: command not found'), undefined);
});

test('goVersionAtLeast compares numerically, not as strings', () => {
  assert.equal(goVersionAtLeast({ major: 1, minor: 9, patch: 0 }, { major: 1, minor: 25, patch: 0 }), false);
  assert.equal(goVersionAtLeast({ major: 1, minor: 24, patch: 99 }, MIN_GO_VERSION), false);
  assert.equal(goVersionAtLeast({ major: 1, minor: 25, patch: 0 }, MIN_GO_VERSION), true);
  assert.equal(goVersionAtLeast({ major: 2, minor: 0, patch: 0 }, MIN_GO_VERSION), true);
});

test('the help message names the Go version to install and both escape hatches', () => {
  const msg = goHelpMessage('Go was not found on PATH.');
  assert.match(msg, /Go >= 1\.25\.0/);
  assert.match(msg, /EVALCTL_TEMPORAL_BIN/);
  assert.match(msg, /EVALCTL_MONGO_URL/);
});

test('requireGo without go on PATH fails with the help message', async () => {
  await assert.rejects(requireGo({ PATH: '/nonexistent' }), (err: Error) => err.name === 'GoToolchainError' && /not found on PATH/.test(err.message) && /EVALCTL_TEMPORAL_BIN/.test(err.message));
});
