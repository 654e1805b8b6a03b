import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectTemporal, TemporalUnreachableError } from '../../../src/worker/connect';

test('connectTemporal retries until the server answers, saying once per distinct reason why it waits', async () => {
  let calls = 0;
  const lines: string[] = [];
  const got = await connectTemporal(async () => {
    calls += 1;
    if (calls < 3) throw new Error('transport error: connection refused\ndetail the user does not need');
    return 'connected';
  }, { address: '127.0.0.1:7233', timeoutMs: 10_000, log: (l) => lines.push(l) });
  assert.equal(got, 'connected');
  assert.equal(calls, 3);
  assert.deepEqual(lines, ['worker: cannot reach Temporal at 127.0.0.1:7233 yet (transport error: connection refused); retrying for up to 10 s']);
});

test('connectTemporal gives up after its timeout with an error that names the address and the flag', async () => {
  const started = Date.now();
  await assert.rejects(
    connectTemporal(async () => Promise.reject(new Error('connection refused')), { address: '127.0.0.1:1', timeoutMs: 1_200, log: () => undefined }),
    (err: unknown) => err instanceof TemporalUnreachableError && /cannot reach Temporal at 127\.0\.0\.1:1 after 1 s \(connection refused\); check --address/.test(err.message),
  );
  assert.ok(Date.now() - started < 5_000, 'bounded by the timeout');
});
