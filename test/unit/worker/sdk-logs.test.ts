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

test('failed attempts evalctl records itself are shown only when verbose; unclassified errors always', () => {
  const retried = { message: 'Activity failed', meta: { error: Object.assign(new Error('simulated rate limit (429)'), { type: 'EvalProviderRetryable' }) } };
  const sampleFailed = { message: 'Workflow failed', meta: { error: Object.assign(new Error('400 bad request'), { type: 'EvalSampleFailed' }) } };
  const bug = { message: 'Activity failed', meta: { error: new TypeError('cannot read properties of undefined') } };
  assert.equal(showSdkEntry(retried, {}), false);
  assert.equal(showSdkEntry(sampleFailed, {}), false);
  assert.equal(showSdkEntry(retried, { EVALCTL_DEBUG: '1' }), true);
  assert.equal(showSdkEntry(bug, {}), true);
  // Copied out of the workflow thread, the failure keeps its message but not its type.
  assert.equal(showSdkEntry({ message: 'Workflow failed', meta: { workflowType: 'sampleWorkflow', error: new Error('400 bad request') } }, {}), false);
  assert.equal(showSdkEntry({ message: 'Workflow failed', meta: { workflowType: 'jobWorkflow', error: new Error('stopped after sample 3 failed') } }, {}), true);
  assert.equal(showSdkEntry({ message: 'Workflow failed', meta: { error: Object.assign(new Error('x'), { type: 'SomethingElse' }) } }, {}), true);
});
