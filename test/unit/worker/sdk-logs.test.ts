import { test } from 'node:test';
import assert from 'node:assert/strict';
import { showSdkEntry, verbose } from '../../../src/worker/sdk-logs';

test('the SDK warning about an activity-only worker is shown only when verbose; other warnings always', () => {
  const expected = { message: 'No workflows registered, not polling for workflow tasks' };
  assert.equal(showSdkEntry(expected, {}), false);
  assert.equal(showSdkEntry(expected, { EVALCTL_DEBUG: '1' }), true);
  assert.equal(showSdkEntry({ message: 'Activity failed' }, {}), true);
  assert.equal(verbose({ EVALCTL_DEBUG: '0' }), false);
});
