import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beat } from '../../../activities/heartbeat';

test('beat heartbeats a regular activity and is a no-op in a local activity (which has no heartbeat)', async () => {
  for (const isLocal of [false, true]) {
    const env = new MockActivityEnvironment({ isLocal });
    const seen: unknown[] = [];
    env.on('heartbeat', (d: unknown) => seen.push(d));
    await env.run(async () => {
      beat('checkpoint');
      beat();
    });
    assert.deepEqual(seen, isLocal ? [] : ['checkpoint', undefined], `isLocal: ${isLocal}`);
  }
});
