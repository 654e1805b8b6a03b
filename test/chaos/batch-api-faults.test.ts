import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { startBatchServer, type BatchServer, type BatchServerOptions, type CrashPoint } from '../fixtures/batch-server';
import { BATCH_KEY, assertExactlyOnce, finishBatch, statusOf, writeBatchWorkload } from '../helpers/batch-api';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';

/**
 * Provider batch mode under faults (`npm run chaos`): the connection lost at each step of a submission, a
 * poll and a download; a worker killed while the create hangs; the Temporal server killed while batches run;
 * expiry with resubmission of only the unanswered requests (and without rounds left); pause and cancel. Each
 * asserts every sample stored once and the endpoint running each request (custom_id) exactly once.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-batch-faults-'));
let store: Store | undefined;
let shared: WorkerProcess | undefined;

after(async () => {
  await shared?.kill('SIGKILL');
  await store?.close();
});

function env(): NodeJS.ProcessEnv {
  return stackEnv(getStack(), { BATCH_TEST_KEY: BATCH_KEY });
}

async function setup(): Promise<Store> {
  store ??= await openStore(getStack().mongoUrl);
  shared ??= await startWorkerProcess(env());
  return store;
}

async function server(t: { after(fn: () => unknown): void }, opts: BatchServerOptions): Promise<BatchServer> {
  const s = await startBatchServer({ apiKey: BATCH_KEY, ...opts });
  t.after(() => s.close());
  return s;
}

/** Every input file name was uploaded once: a lost upload response never made a second upload. */
function assertUploadedOnce(s: BatchServer): void {
  for (const [name, n] of s.uploads) assert.equal(n, 1, `${name} uploaded ${n} times`);
}

for (const point of ['before-upload', 'after-upload', 'after-create', 'poll', 'download'] as CrashPoint[]) {
  test(`provider batch: the connection lost ${point}: no batch lost, none created twice, every request run once`, async (t) => {
    const store = await setup();
    const s = await server(t, { crash: { at: point, times: 2 } });
    const config = writeBatchWorkload(dir, { name: `pb-${point}`, salt: `pb-${point}`, samples: 8, baseUrl: s.baseUrl });
    const id = await startAssignment(env(), config);
    const end = await finishBatch(env(), id);
    assert.deepEqual(s.crashes, [point, point], 'both crashes happened');
    assert.equal(end.status, 'completed');
    assert.equal(end.counts.succeeded, 8);
    await assertExactlyOnce(store, s, id, 8);
    assertUploadedOnce(s);
    assert.equal(s.batches().length, 2);
    assert.equal(s.executed.size, 8);
  });
}

test('provider batch: the worker killed while the create hangs: the next worker finds the batch, nothing sent twice', async (t) => {
  const store = await setup();
  await shared?.kill('SIGKILL');
  shared = undefined;
  const s = await server(t, { crash: { at: 'after-create', mode: 'hang' } });
  const first = await startWorkerProcess(env());
  t.after(() => first.kill('SIGKILL'));
  const config = writeBatchWorkload(dir, { name: 'pb-kill', salt: 'pb-kill', samples: 8, baseUrl: s.baseUrl, batch: { maxRequests: 8 } });
  const id = await startAssignment(env(), config);
  await waitFor(() => s.crashes.length === 1, { timeoutMs: 60_000, message: 'the create to hang' });
  await first.kill('SIGKILL');
  shared = await startWorkerProcess(env());
  const end = await finishBatch(env(), id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 8);
  await assertExactlyOnce(store, s, id, 8);
  assert.equal(s.batches().length, 1, 'the batch the killed worker created is the only one');
});

test('provider batch: the Temporal server killed and restarted while batches run: collected once', async (t) => {
  const store = await setup();
  const s = await server(t, { runMs: 4_000 });
  const config = writeBatchWorkload(dir, { name: 'pb-temporal', salt: 'pb-temporal', samples: 8, baseUrl: s.baseUrl });
  const id = await startAssignment(env(), config);
  await waitFor(() => s.batches().length === 2 && s.batches().every((b) => b.status === 'in_progress'), { timeoutMs: 60_000, message: 'two batches in progress' });
  await getStack().killTemporal();
  await getStack().startTemporal();
  const end = await finishBatch(env(), id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 8);
  await assertExactlyOnce(store, s, id, 8);
  assert.equal(s.batches().length, 2);
});

test('provider batch: an expired batch resubmits only what it left unanswered; without rounds left those fail', async (t) => {
  const store = await setup();
  // The first batch created expires with half its requests run; every later one completes.
  const s = await server(t, { expire: (n) => (n === 0 ? 0.5 : undefined) });
  const config = writeBatchWorkload(dir, { name: 'pb-expire', salt: 'pb-expire', samples: 4, baseUrl: s.baseUrl });
  const id = await startAssignment(env(), config);
  const end = await finishBatch(env(), id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 4);
  await assertExactlyOnce(store, s, id, 4);
  assert.deepEqual(s.batches().map((b) => b.requests).sort(), [2, 4], 'the resubmission carried the two unanswered requests only');
  assert.deepEqual(end.batches?.map((b) => [b.round, b.status]), [[0, 'expired'], [1, 'completed']]);
  const results = await store.results.find({ _id: { $in: [...s.executed.keys()] } }).toArray();
  assert.deepEqual(results.map((r) => r.attempts).sort(), [1, 1, 2, 2], 'attempts say the round that answered');

  const none = await server(t, { expire: () => 0.5 });
  const noRounds = writeBatchWorkload(dir, { name: 'pb-expire-0', salt: 'pb-expire-0', samples: 4, baseUrl: none.baseUrl, batch: { maxResubmits: 0 } });
  const id2 = await startAssignment(env(), noRounds);
  const end2 = await finishBatch(env(), id2);
  assert.deepEqual({ succeeded: end2.counts.succeeded, failed: end2.counts.failed }, { succeeded: 2, failed: 2 });
  const failed = await store.samples.find({ assignmentId: id2, status: 'failed' }).toArray();
  const errors = await store.results.find({ _id: { $in: failed.map((f) => f.sampleKey) } }).toArray();
  assert.equal(errors.length, 2);
  assert.ok(errors.every((r) => /^echo: batch_expired: /.test(r.error ?? '')), JSON.stringify(errors.map((r) => r.error)));
  assert.equal(none.batches().length, 1);
});

test('provider batch: pause holds new submissions back, resume sends them; each request once', async (t) => {
  const store = await setup();
  // One batch at a time, each running 12 s: the pause lands while the first runs, before the second is due.
  const s = await server(t, { runMs: 12_000 });
  const config = writeBatchWorkload(dir, { name: 'pb-pause', salt: 'pb-pause', samples: 8, baseUrl: s.baseUrl, batch: { maxInFlight: 1 } });
  const id = await startAssignment(env(), config);
  await waitFor(() => s.batches().length === 1, { timeoutMs: 60_000, message: 'the first batch' });
  const paused = await runCli(['pause', id], { env: env() });
  assert.equal(paused.code, 0, paused.stderr);
  assert.deepEqual(s.batches().map((b) => b.status), ['in_progress'], 'paused while the first batch runs');
  // The first batch still completes and is collected while paused; the second is not sent.
  await waitFor(async () => (await store.samples.countDocuments({ assignmentId: id, status: 'succeeded' })) === 4, { timeoutMs: 90_000, message: 'the first batch collected' });
  const whilePaused = await statusOf(env(), id);
  assert.equal(whilePaused.status, 'paused');
  assert.equal(s.batches().length, 1, 'no batch submitted while paused');
  const resumed = await runCli(['resume', id], { env: env() });
  assert.equal(resumed.code, 0, resumed.stderr);
  const end = await finishBatch(env(), id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 8);
  await assertExactlyOnce(store, s, id, 8);
  assert.equal(s.batches().length, 2);
});

test('provider batch: cancel cancels the remote batches and records their samples canceled', async (t) => {
  const store = await setup();
  const s = await server(t, { runMs: 60_000 });
  const config = writeBatchWorkload(dir, { name: 'pb-cancel', salt: 'pb-cancel', samples: 8, baseUrl: s.baseUrl });
  const id = await startAssignment(env(), config);
  await waitFor(() => s.batches().length === 2 && s.batches().every((b) => b.status === 'in_progress'), { timeoutMs: 60_000, message: 'two batches in progress' });
  const canceled = await runCli(['cancel', id], { env: env(), timeoutMs: 120_000 });
  assert.equal(canceled.code, 0, canceled.stderr);
  const end = await statusOf(env(), id);
  assert.equal(end.status, 'canceled');
  assert.deepEqual(s.batches().map((b) => b.status), ['cancelled', 'cancelled']);
  const records = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(records.length, 8, 'every sample of the cancelled batches recorded');
  assert.equal(records.filter((r) => r.status === 'canceled').length + records.filter((r) => r.status === 'succeeded').length, 8);
  assert.equal(end.counts.canceled + end.counts.succeeded, 8);
  for (const n of s.executed.values()) assert.equal(n, 1);
});
