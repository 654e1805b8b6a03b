import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/store';
import { readCallLog, writeWorkload } from '../helpers/assignments';
import { clusterMode, useTestStack } from '../helpers/stack';
import { stackEnv, startWorkerProcess, type WorkerProcess } from '../helpers/workers';
import { audit, progressOf, recoveryTime, startAssignment, waitForProgress, watchToEnd } from '../chaos/harness';

/**
 * On the cluster stack (`npm run test:cluster`: the Temporal server on PostgreSQL, 4 history shards, SQL
 * visibility): two worker processes share a run while the server is restarted, then killed, mid-run.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-cluster-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('two workers, the Temporal server restarted and then SIGKILLed mid-run: every sample stored once, nothing called again', async (t) => {
  assert.ok(clusterMode(), 'runs on the cluster stack only: npm run test:cluster sets EVALCTL_TEST_CLUSTER=1');
  const stack = getStack();
  const store = await openStore(stack.mongoUrl);
  t.after(() => store.close());
  const callLog = join(dir, 'calls.jsonl');
  const env = stackEnv(stack, { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const total = 600;
  const config = writeWorkload(dir, {
    name: 'cluster-restart', models: 2, tasks: 1, samples: total / 2, salt: `cluster-restart-${Date.now()}`,
    latencyMs: { distribution: 'uniform', min: 50, max: 200 }, concurrency: 16, global: 64,
  });
  const workers: WorkerProcess[] = [await startWorkerProcess(env), await startWorkerProcess(env)];
  t.after(() => Promise.all(workers.map((w) => w.kill('SIGKILL'))));
  const id = await startAssignment(env, config);

  await waitForProgress(store, id, Math.floor(total * 0.25));
  let before = await progressOf(store, id);
  let at = Date.now();
  await stack.stopTemporal();
  await stack.startTemporal();
  const restartMs = await recoveryTime(store, id, at, before);

  await waitForProgress(store, id, Math.floor(total * 0.6));
  before = await progressOf(store, id);
  at = Date.now();
  await stack.killTemporal();
  await stack.startTemporal();
  const killMs = await recoveryTime(store, id, at, before);

  await watchToEnd(env, id);
  const a = await audit(store, id, total, readCallLog(callLog));
  assert.equal(a.samples, total, 'one sample record per sample');
  assert.equal(a.succeeded, total, 'every sample succeeded');
  assert.equal(a.failed, 0, 'no sample failed');
  assert.equal(a.lost, 0, 'no result lost');
  assert.equal(a.duplicates, 0, 'no stored sample called again');
  const keys = (await store.samples.find({ assignmentId: id }, { projection: { sampleKey: 1 } }).toArray()).map((s) => s.sampleKey);
  assert.equal(new Set(keys).size, total, 'distinct sample keys');
  assert.equal(await store.results.countDocuments({ _id: { $in: keys } }), total, 'one stored result per sample');
  assert.equal(await store.results.countDocuments({ _id: { $in: keys }, status: 'succeeded' }), total, 'every stored result succeeded');
  for (const w of workers) assert.equal(w.proc.exitCode, null, `a worker survived both server outages:\n${w.output().slice(-2000)}`);
  const served = new Set(readCallLog(callLog).map((e) => e.pid));
  assert.ok(served.size >= 2, `both worker processes made model calls (pids ${[...served].join(', ')})`);
  process.stderr.write(`cluster: ${total} samples, 2 workers; progress resumed ${(restartMs / 1000).toFixed(1)} s after a restart began, ${(killMs / 1000).toFixed(1)} s after a kill; model calls ${a.calls}\n`);
});
