import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { aggregate } from '../../src/metrics';
import { shardPlan } from '../../workflows/shard';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv } from '../helpers/workers';
import { killAccounting, readCallLog, startsPerKey, writeWorkload, type WorkloadSpec } from '../helpers/assignments';

/**
 * `fanout: batch` with the shard runner: one activity per shard runs the samples in process. These tests
 * hold it to what per-sample fan-out promises: every sample stored once with exact aggregates, dedup,
 * in-process retries, resume after a killed worker, pause, cancel, and progress while shards run.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-batch-'));
let store: Store | undefined;

after(async () => {
  await store?.close();
});

interface StatusView {
  status: string;
  counts: Record<string, number>;
  jobs: Array<{ jobId: string; counts: Record<string, number>; metrics?: { score: { mean: number; ci95: number[]; n: number } } }>;
}

async function setup(callLog: string): Promise<{ env: NodeJS.ProcessEnv; store: Store }> {
  store ??= await openStore(getStack().mongoUrl);
  return { env: stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog }), store };
}

/** A workload config with `fanout: batch`; `provider` adds settings to every model's simulated provider. */
function batchWorkload(spec: WorkloadSpec, provider: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  const path = writeWorkload(dir, { ...spec, extra: { fanout: 'batch', ...extra } });
  const config = parse(readFileSync(path, 'utf8')) as { models: Array<{ provider: Record<string, unknown> }> };
  for (const m of config.models) Object.assign(m.provider, provider);
  writeFileSync(path, stringify(config));
  return path;
}

/**
 * Peak calls in flight per job and shard, from the call log, and per job in all (under the key '*').
 */
function shardPeaks(log: ReturnType<typeof readCallLog>, samples: Array<{ sampleKey: string; jobId: string; index: number }>): Map<string, Map<string, number>> {
  // The job's plan (window 8, 300 samples): two shards of 4 calls, each over half of the indexes.
  const { size } = shardPlan(8, 300, true);
  const where = new Map(samples.map((s) => [s.sampleKey, { jobId: s.jobId, shard: s.index < size ? 'first' : 'second' }]));
  const open = new Map<string, number>();
  const peaks = new Map<string, Map<string, number>>();
  for (const e of [...log].sort((a, b) => a.t - b.t)) {
    const at = where.get(e.sampleKey);
    if (!at || (e.event !== 'start' && e.event !== 'end')) continue;
    const byShard = peaks.get(at.jobId) ?? new Map<string, number>();
    peaks.set(at.jobId, byShard);
    for (const key of [`${at.jobId}/${at.shard}`, `${at.jobId}/*`]) {
      const n = (open.get(key) ?? 0) + (e.event === 'start' ? 1 : -1);
      open.set(key, n);
      const name = key.slice(at.jobId.length + 1);
      byShard.set(name, Math.max(byShard.get(name) ?? 0, n));
    }
  }
  return peaks;
}

async function status(env: NodeJS.ProcessEnv, id: string): Promise<StatusView> {
  const res = await runCli(['status', id, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as StatusView;
}

async function finish(env: NodeJS.ProcessEnv, id: string): Promise<StatusView> {
  const end = await runCli(['watch', id], { env, timeoutMs: 300_000 });
  assert.ok(end.code === 0 || end.code === 1, end.stderr);
  return status(env, id);
}

test('batch: every sample stored once with exact aggregates, progress while shards run, no history per sample', async (t) => {
  const callLog = join(dir, 'main-calls.jsonl');
  const { env, store } = await setup(callLog);
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  const config = batchWorkload({ name: 'batch-main', models: 1, tasks: 2, samples: 300, salt: 'batch-main', latencyMs: { distribution: 'uniform', min: 100, max: 300 }, concurrency: 8 });
  const id = await startAssignment(env, config);
  // Progress moves while the shards (one activity each) still run: counts come from the runners' reports.
  const midway = await waitFor(async () => {
    const s = await status(env, id);
    const done = s.counts.succeeded;
    return s.status === 'running' && done > 0 && done < 600 ? s : undefined;
  }, { timeoutMs: 120_000, intervalMs: 300, message: 'a status with some but not all samples done' });
  assert.ok(midway.counts.running > 0, 'samples still running are shown');
  const end = await finish(env, id);
  assert.equal(end.status, 'completed');
  assert.deepEqual({ succeeded: end.counts.succeeded, failed: end.counts.failed, total: end.counts.total }, { succeeded: 600, failed: 0, total: 600 });
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(samples.length, 600);
  assert.ok(samples.every((s) => s.status === 'succeeded'));
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  assert.equal(results.length, 600);
  for (const job of end.jobs) {
    const scores = results.filter((r) => `${r.modelId}/${r.taskId}` === job.jobId).map((r) => ({ value: r.score!.value, passed: r.score!.passed }));
    assert.equal(scores.length, 300);
    const expected = aggregate(scores);
    assert.equal(job.metrics?.score.n, 300);
    assert.ok(Math.abs(job.metrics!.score.mean - expected.mean) < 1e-12, `${job.jobId} mean`);
    assert.deepEqual(job.metrics!.score.ci95, expected.ci95);
  }
  const calls = startsPerKey(readCallLog(callLog));
  assert.equal(calls.size, 600);
  assert.ok([...calls.values()].every((n) => n === 1), 'one model call per sample');
  // Each job runs two shards of 4 calls over its 8. A shard whose range has all started lends its places to
  // the other shard of its job: that one runs more than its own 4 at once, and the job never more than 8.
  const plan = shardPlan(8, 300, true);
  assert.deepEqual({ shards: plan.shards, calls: plan.calls }, { shards: 2, calls: 4 }, 'the plan this check reads the call log by');
  const peaks = shardPeaks(readCallLog(callLog), samples);
  const seen = JSON.stringify([...peaks].map(([j, m]) => [j, [...m]]));
  for (const byShard of peaks.values()) assert.ok((byShard.get('*') ?? 0) <= 8, `at most 8 calls of a job in flight: ${seen}`);
  assert.ok([...peaks.values()].some((byShard) => (byShard.get('first') ?? 0) > plan.calls || (byShard.get('second') ?? 0) > plan.calls), `a shard ran on lent places: ${seen}`);
  // Per-sample fan-out records ~20 history events per sample and per-sample activities ~4: the runner none,
  // only its progress signals and heartbeat timeouts, which grow with the run's length on a loaded machine.
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    let events = 0;
    for await (const wf of temporal.client.workflow.list({ query: `EvalAssignment = '${id}'` })) {
      events += (await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).describe()).historyLength;
    }
    assert.ok(events < 600, `${events} history events for 600 samples: fewer than one per sample`);
  } finally {
    await temporal.close();
  }
  // The same config again: every sample is reused, no model call.
  const again = await finish(env, await startAssignment(env, config));
  assert.equal(again.status, 'completed');
  assert.equal(again.counts.reused, 600);
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, 600, 'the second run made no model call');
});

test('batch: 429s are retried in process by the retry settings, every sample ends succeeded', async (t) => {
  const callLog = join(dir, 'retry-calls.jsonl');
  const { env, store } = await setup(callLog);
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  const config = batchWorkload(
    { name: 'batch-retry', models: 1, tasks: 1, samples: 200, salt: 'batch-retry', latencyMs: 5, concurrency: 8 },
    { rateLimitRate: 0.3, retryAfterMs: 20 },
    { retry: { maxAttempts: 12, initialIntervalMs: 10, backoffCoefficient: 1, maxIntervalMs: 10 } },
  );
  const id = await startAssignment(env, config);
  const end = await finish(env, id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 200);
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  const log = readCallLog(callLog);
  const attempts = results.reduce((sum, r) => sum + r.attempts, 0);
  assert.ok(results.some((r) => r.attempts > 1), 'some samples needed more than one attempt');
  assert.equal(log.filter((e) => e.event === 'start').length, attempts, 'every call is an attempt counted in its result');
  assert.equal(log.filter((e) => e.event === 'error').length, attempts - 200, 'every attempt but the last of each sample was a 429');
});

test('batch: a worker killed mid-shard: the next attempt resumes from the checkpoint, nothing lost', async (t) => {
  const callLog = join(dir, 'kill-calls.jsonl');
  const { env, store } = await setup(callLog);
  const first = await startWorkerProcess(env);
  t.after(() => first.kill('SIGKILL'));
  const config = batchWorkload({ name: 'batch-kill', models: 1, tasks: 1, samples: 400, salt: 'batch-kill', latencyMs: { distribution: 'uniform', min: 50, max: 250 }, concurrency: 8 });
  const id = await startAssignment(env, config);
  await waitFor(async () => (await store.samples.countDocuments({ assignmentId: id })) >= 120, { timeoutMs: 120_000, message: '120 stored samples' });
  await first.kill('SIGKILL');
  const killedAt = Date.now();
  const second = await startWorkerProcess(env);
  t.after(() => second.kill('SIGKILL'));
  const end = await finish(env, id);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded + end.counts.reused, 400);
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(samples.length, 400);
  assert.ok(samples.every((s) => s.status === 'succeeded'), 'a sample run before the kill stays succeeded, not reused');
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  assert.equal(results.length, 400);
  const { calledAfterStore, lost, starts } = killAccounting(readCallLog(callLog), results, first.proc.pid, killedAt);
  assert.deepEqual(calledAfterStore, [], 'no sample was called again after its result was stored');
  // Calls the killed worker started for samples it had not stored by the kill are the only repeats: at most
  // the calls in flight (8) and the answers waiting for the next bulk write (the runner holds back past 4 x 8).
  assert.ok(lost <= 8 + 4 * 8, `${lost} calls not stored at the kill, at most in flight + the write backlog`);
  assert.ok(starts <= 400 + lost, `model calls ${starts} <= 400 samples + ${lost} in flight at the kill`);
});

test('batch: pause stops new calls until resume; cancel aborts in-flight calls and ends canceled', async (t) => {
  const callLog = join(dir, 'hold-calls.jsonl');
  const { env, store } = await setup(callLog);
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  // 400 calls of 200 ms, 4 at a time: 20 s of work, so the pause lands mid-run even when the CLI is slow to start.
  const pausing = await startAssignment(env, batchWorkload({ name: 'batch-pause', models: 1, tasks: 1, samples: 400, salt: 'batch-pause', latencyMs: 200, concurrency: 4 }));
  await waitFor(() => readCallLog(callLog).filter((e) => e.event === 'start').length >= 8, { timeoutMs: 60_000, message: 'calls to start' });
  assert.equal((await runCli(['pause', pausing], { env })).code, 0);
  const pausedAt = Date.now();
  assert.equal((await status(env, pausing)).status, 'paused');
  await waitFor(() => Date.now() - pausedAt >= 3_000, { timeoutMs: 10_000, intervalMs: 250, message: '3 s of pause' });
  assert.deepEqual(readCallLog(callLog).filter((e) => e.event === 'start' && e.t > pausedAt), [], 'no model call starts while paused');
  assert.equal((await runCli(['resume', pausing], { env })).code, 0);
  const resumed = await finish(env, pausing);
  assert.equal(resumed.status, 'completed');
  assert.equal(resumed.counts.succeeded, 400);

  const canceling = await startAssignment(env, batchWorkload({ name: 'batch-cancel', models: 1, tasks: 1, samples: 100, salt: 'batch-cancel', latencyMs: 20_000, concurrency: 6 }));
  const before = readCallLog(callLog).length;
  await waitFor(() => readCallLog(callLog).slice(before).filter((e) => e.event === 'start').length >= 6, { timeoutMs: 60_000, message: '6 calls in flight' });
  const t0 = Date.now();
  const res = await runCli(['cancel', canceling, '--json'], { env });
  const returnedAt = Date.now();
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), [{ assignmentId: canceling, status: 'canceled' }]);
  assert.ok(returnedAt - t0 < 10_000, `cancel took ${returnedAt - t0} ms`);
  const log = readCallLog(callLog).slice(before);
  assert.equal(log.filter((e) => e.event === 'abort').length, 6, 'the in-flight calls were aborted');
  assert.equal(log.filter((e) => e.event === 'end').length, 0, 'no 20 s call ran to its end');
  assert.deepEqual(log.filter((e) => e.event === 'start' && e.t > returnedAt), []);
  const samples = await store.samples.find({ assignmentId: canceling }).toArray();
  assert.equal(samples.filter((s) => s.status === 'canceled').length, 6, 'the aborted samples are stored as canceled');
  const end = await status(env, canceling);
  assert.equal(end.status, 'canceled');
  assert.equal(end.counts.canceled, 100);
});
