import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv } from '../helpers/workers';
import { killAccounting, readCallLog, writeWorkload } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-faults-'));
let store: Store | undefined;

after(async () => {
  await store?.close();
});

test('a worker killed with SIGKILL mid-run: a new one finishes it, no stored sample is called again', async (t) => {
  const callLog = join(dir, 'kill-calls.jsonl');
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store ??= await openStore(getStack().mongoUrl);
  const first = await startWorkerProcess(env);
  t.after(() => first.kill('SIGKILL'));
  const config = writeWorkload(dir, { name: 'killed', models: 3, tasks: 2, samples: 50, salt: 'killed', latencyMs: { distribution: 'uniform', min: 50, max: 250 }, concurrency: 8 });
  const id = await startAssignment(env, config);
  await waitFor(async () => (await store!.samples.countDocuments({ assignmentId: id })) >= 60, { timeoutMs: 120_000, message: '60 stored samples' });
  const before = JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { counts: Record<string, number> };
  await first.kill('SIGKILL');
  const killedAt = Date.now();
  // No orchestrator now: status answers from MongoDB at once, says so, and its counts do not go back.
  const down = await runCli(['status', id], { env });
  assert.equal(down.code, 0, down.stderr);
  assert.ok(Date.now() - killedAt < 15_000, `status took ${Date.now() - killedAt} ms with no orchestrator`);
  assert.match(down.stdout, /orchestrator: not running \(no worker polls evalctl-orchestrator\)/);
  const ended = Number(/samples: (\d+)\/300 ended/.exec(down.stdout)?.[1]);
  assert.ok(ended >= before.counts.succeeded, `${ended} ended >= ${before.counts.succeeded} before the kill`);
  const listed = JSON.parse((await runCli(['workers', 'list', '--json'], { env })).stdout) as { workers: Array<{ worker?: { pid: number } }>; unpolled: Array<{ queue: string; assignments: string[] }> };
  assert.ok(!listed.workers.some((w) => w.worker?.pid === first.proc.pid), 'the killed worker is not listed');
  assert.ok(listed.unpolled.some((u) => u.queue === 'evalctl-orchestrator' && u.assignments.includes(id)), 'the orchestrator queue has work and no poller');
  const second = await startWorkerProcess(env);
  // Each test stops its workers even when it fails, so none serves (and logs) the next test's calls.
  t.after(() => second.kill('SIGKILL'));
  const end = await runCli(['watch', id], { env, timeoutMs: 300_000 });
  assert.equal(end.code, 0, end.stderr);
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(samples.length, 300);
  assert.ok(samples.every((s) => s.status === 'succeeded'));
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  assert.equal(results.length, 300);
  const { calledAfterStore, lost, starts } = killAccounting(readCallLog(callLog), results, first.proc.pid, killedAt);
  assert.deepEqual(calledAfterStore, [], 'no sample was called again after its result was stored');
  assert.ok(starts <= 300 + lost, `model calls ${starts} <= 300 samples + ${lost} in flight at the kill`);
});

test('cancel mid-run: canceled within 10 s, in-flight calls aborted, no call starts after cancel returns', async (t) => {
  const callLog = join(dir, 'cancel-calls.jsonl');
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store ??= await openStore(getStack().mongoUrl);
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  const config = writeWorkload(dir, { name: 'canceled', models: 2, tasks: 1, samples: 100, salt: 'canceled', latencyMs: 20_000, concurrency: 6 });
  const id = await startAssignment(env, config);
  await waitFor(() => readCallLog(callLog).filter((e) => e.event === 'start').length >= 12, { timeoutMs: 60_000, message: '12 calls in flight' });
  const t0 = Date.now();
  const res = await runCli(['cancel', id, '--json'], { env });
  const returnedAt = Date.now();
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), [{ assignmentId: id, status: 'canceled' }]);
  assert.ok(returnedAt - t0 < 10_000, `cancel took ${returnedAt - t0} ms`);
  const log = await waitFor(() => {
    const entries = readCallLog(callLog);
    const open = entries.filter((e) => e.event === 'start').length - entries.filter((e) => e.event !== 'start').length;
    return open === 0 ? entries : undefined;
  }, { timeoutMs: 15_000, message: 'every in-flight call to end' });
  assert.ok(log.filter((e) => e.event === 'abort').length >= 12, 'in-flight calls were aborted, not completed');
  assert.equal(log.filter((e) => e.event === 'end').length, 0, 'no 20 s call ran to the end');
  assert.deepEqual(log.filter((e) => e.event === 'start' && e.t > returnedAt), []);
  const doc = await store.assignments.findOne({ _id: id });
  assert.equal(doc?.status, 'canceled');
  const status = JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { status: string; counts: { canceled: number; total: number } };
  assert.equal(status.status, 'canceled');
  assert.equal(status.counts.canceled, status.counts.total);
});

test('cancel with no worker up: the wait fails with exit 1 and says so; once a worker runs, cancel ends the assignment', async (t) => {
  const env = stackEnv(getStack());
  store ??= await openStore(getStack().mongoUrl);
  const id = await startAssignment(env, writeWorkload(dir, { name: 'cancel-unserved', models: 1, tasks: 1, samples: 5, salt: 'cancel-unserved' }));
  const waited = await runCli(['cancel', id, '--wait', '1'], { env });
  assert.equal(waited.code, 1, waited.stdout);
  assert.match(waited.stderr, new RegExp(`cancel requested, but ${id} had not ended after 1 s`));
  assert.notEqual((await store.assignments.findOne({ _id: id }))?.status, 'canceled');
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  const res = await runCli(['cancel', id, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), [{ assignmentId: id, status: 'canceled' }]);
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'canceled');
});
