import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { assignmentPage } from '../../src/viewer/pages-assignments';
import { DigestCache } from '../../src/viewer/digest-cache';
import { startBatchServer } from '../fixtures/batch-server';
import { BATCH_KEY, assertExactlyOnce, finishBatch, writeBatchWorkload } from '../helpers/batch-api';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';

/**
 * Provider batch mode end to end against the batch fixture (test/fixtures/batch-server.ts): requests go out
 * as batch files, are polled on workflow timers and are stored and scored like online answers; partial
 * failures are data per sample; a rerun reuses every answer; the key stays on the worker. One crash point
 * (the connection lost right after the endpoint created a batch) is here; the others are in
 * test/chaos/batch-api-faults.test.ts (`npm run chaos`).
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-provider-batch-'));
let store: Store | undefined;
let worker: WorkerProcess | undefined;

after(async () => {
  await worker?.kill('SIGKILL');
  await store?.close();
});

/** The stack's store and one worker for the file (each test brings its own batch server). */
async function setup(): Promise<{ env: NodeJS.ProcessEnv; store: Store; worker: WorkerProcess }> {
  const env = stackEnv(getStack(), { BATCH_TEST_KEY: BATCH_KEY });
  store ??= await openStore(getStack().mongoUrl);
  worker ??= await startWorkerProcess(env);
  return { env, store, worker };
}

test('provider batch: answers stored and scored per sample, failures per sample, one request per key, a lost create found by its key, reuse on rerun, key only on the worker', async (t) => {
  // The connection is lost right after the endpoint created the first batch: the retry must find it by its key.
  const server = await startBatchServer({ apiKey: BATCH_KEY, failWhen: (p) => p.includes('fail-me'), crash: { at: 'after-create' } });
  t.after(() => server.close());
  const { env, store } = await setup();
  // 7 samples in batches of 4: [0, 4) and [4, 7). Index 2 repeats index 1 (one request answers both); 5 fails.
  const config = writeBatchWorkload(dir, { name: 'pb-main', salt: 'pb-main', samples: 7, baseUrl: server.baseUrl, failing: [5], duplicates: [2] });
  const id = await startAssignment(env, config);
  const end = await finishBatch(env, id);
  assert.equal(end.status, 'completed');
  assert.deepEqual({ succeeded: end.counts.succeeded, failed: end.counts.failed, total: end.counts.total }, { succeeded: 6, failed: 1, total: 7 });
  await assertExactlyOnce(store, server, id, 7);
  assert.deepEqual(server.crashes, ['after-create'], 'the crash happened');
  assert.equal(server.batches().length, 2, 'two ranges, two batches: the lost create was found, not repeated');
  assert.equal(server.executed.size, 6, 'six distinct requests ran');
  const records = await store.samples.find({ assignmentId: id }).sort({ index: 1 }).toArray();
  assert.deepEqual(records.map((r) => r.status), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded']);
  assert.ok(records.filter((r) => r.status === 'succeeded').every((r) => r.score === 1), 'every answer scored by the exact scorer');
  const failed = await store.results.findOne({ _id: records[5].sampleKey });
  assert.match(failed?.error ?? '', /HTTP 400 \(invalid_request_error\): injected failure/);
  assert.equal(failed?.input.includes('fail-me'), true, 'the failed sample keeps its prompt');
  // status shows the batches: the endpoint's ids, their state and counts.
  assert.equal(end.batches?.length, 2);
  assert.ok(end.batches?.every((b) => /^batch_/.test(b.remoteId ?? '') && b.status === 'completed'));
  assert.deepEqual(end.batches?.map((b) => b.requests), [3, 3]);
  const text = await runCli(['status', id], { env });
  assert.match(text.stdout, /provider batches: 2 \(2 completed\)/);
  assert.match(text.stdout, /batched\/echo \[0, 4\) round 0: batch_\d+ completed, 3 requests, 3\/3 completed, 0 failed/);
  // So does the viewer's assignment page.
  const viewer = await assignmentPage({ store, digests: new DigestCache(store), uiBase: 'http://ui', namespace: 'default' }, id);
  assert.match(viewer, /<h2>Provider batches<\/h2>/);
  assert.equal((viewer.match(/<code>batch_\d+<\/code>/g) ?? []).length, 2, 'both batch ids on the page');
  // The key reached the endpoint from the worker's environment, and nowhere else.
  assert.deepEqual([...server.auth], [`Bearer ${BATCH_KEY}`]);
  const assignment = await store.assignments.findOne({ _id: id });
  assert.ok(!JSON.stringify(assignment).includes(BATCH_KEY), 'no key in the stored config');
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    for await (const wf of temporal.client.workflow.list({ query: `EvalAssignment = '${id}'` })) {
      const history = await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      assert.ok(!JSON.stringify(history).includes(BATCH_KEY), `no key in the history of ${wf.workflowId}`);
    }
  } finally {
    await temporal.close();
  }
  // The same config again: the six answers are reused, only the failed request is sent again.
  const created = server.batches().length;
  const again = await finishBatch(env, await startAssignment(env, config));
  assert.deepEqual({ reused: again.counts.reused, failed: again.counts.failed }, { reused: 6, failed: 1 });
  assert.equal(server.batches().length, created + 1, 'one new batch, for the one request without an answer');
  assert.equal(server.batches()[0].requests, 1);
});
