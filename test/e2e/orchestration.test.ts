import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregate } from '../../src/metrics';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { spawn } from 'node:child_process';
import { repoRoot, runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, writeWorkload } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-orch-'));
let store: Store | undefined;
let worker: WorkerProcess | undefined;
const callLog = join(dir, 'calls.jsonl');

async function setup(): Promise<{ store: Store; env: NodeJS.ProcessEnv }> {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store ??= await openStore(getStack().mongoUrl);
  worker ??= await startWorkerProcess(env);
  return { store, env };
}

after(async () => {
  await worker?.kill();
  await store?.close();
});

async function startJson(env: NodeJS.ProcessEnv, config: string): Promise<{ assignmentId: string; workflowId: string; uiUrl: string }> {
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as { assignmentId: string; workflowId: string; uiUrl: string };
}

async function statusJson(env: NodeJS.ProcessEnv, id: string): Promise<{ status: string; counts: Record<string, number>; jobs: Array<{ jobId: string; counts: Record<string, number>; metrics?: { score: { mean: number; ci95: number[]; n: number } } }> }> {
  const res = await runCli(['status', id, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test('3 models x 2 tasks x 50 samples complete with one scored result each and exact aggregates', async () => {
  const { store, env } = await setup();
  const config = writeWorkload(dir, { name: 'grid', models: 3, tasks: 2, samples: 50, salt: 'grid' });
  const started = await startJson(env, config);
  assert.match(started.uiUrl, /\/namespaces\/default\/workflows\/evalctl%2Fgrid-/);
  const end = await runCli(['watch', started.assignmentId], { env, timeoutMs: 300_000 });
  assert.equal(end.code, 0, end.stderr);
  const status = await statusJson(env, started.assignmentId);
  assert.equal(status.status, 'completed');
  assert.equal(status.counts.total, 300);
  assert.equal(status.counts.succeeded, 300);
  const samples = await store.samples.find({ assignmentId: started.assignmentId }).toArray();
  assert.equal(samples.length, 300);
  const keys = new Set(samples.map((s) => s.sampleKey));
  assert.equal(keys.size, 300);
  const results = await store.results.find({ _id: { $in: [...keys] } }).toArray();
  assert.equal(results.length, 300);
  for (const r of results) {
    assert.equal(r.status, 'succeeded');
    assert.equal(typeof r.score?.value, 'number');
    assert.ok(r.assignments.includes(started.assignmentId));
  }
  for (const job of status.jobs) {
    const jobScores = results.filter((r) => `${r.modelId}/${r.taskId}` === job.jobId).map((r) => ({ value: r.score!.value, passed: r.score!.passed }));
    assert.equal(jobScores.length, 50);
    const expected = aggregate(jobScores);
    assert.equal(job.metrics?.score.n, 50);
    assert.ok(Math.abs(job.metrics!.score.mean - expected.mean) < 1e-12, `${job.jobId} mean`);
    assert.deepEqual(job.metrics!.score.ci95, expected.ci95);
  }
  const events = await store.events.find({ assignmentId: started.assignmentId }).toArray();
  assert.ok(events.some((e) => e.type === 'completed'));
});

test('a visibility query on EvalAssignment lists the assignment, its jobs and its samples', async () => {
  const { env } = await setup();
  const config = writeWorkload(dir, { name: 'visible', models: 1, tasks: 1, samples: 5, salt: 'visible' });
  const started = await startJson(env, config);
  assert.equal((await runCli(['watch', started.assignmentId], { env })).code, 0);
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    const ids = await waitFor(async () => {
      const found: string[] = [];
      for await (const wf of temporal.client.workflow.list({ query: `EvalAssignment = '${started.assignmentId}'` })) found.push(wf.workflowId);
      return found.length >= 7 ? found : undefined;
    }, { timeoutMs: 30_000, message: 'visibility to list 1 assignment + 1 job + 5 samples' });
    assert.ok(ids.includes(started.workflowId));
    assert.ok(ids.some((id) => id.includes('/job/model0/task0')));
    assert.equal(ids.filter((id) => id.startsWith('evalctl/sample/')).length, 5);
  } finally {
    await temporal.close();
  }
});

/** Waits until the Web UI's filter `EvalStatus = '<status>'` finds the workflow. */
async function evalStatusBecomes(workflowId: string, status: string): Promise<void> {
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    await waitFor(async () => {
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}' AND EvalStatus = '${status}'` })) if (wf.workflowId === workflowId) return true;
      return false;
    }, { timeoutMs: 30_000, message: `EvalStatus of ${workflowId} to become ${status}` });
  } finally {
    await temporal.close();
  }
}

test('pause: no model call starts while paused, list --status paused and EvalStatus show it; resume completes the run', async () => {
  const { env } = await setup();
  const config = writeWorkload(dir, { name: 'pausing', models: 1, tasks: 1, samples: 120, salt: 'pausing', latencyMs: 200, concurrency: 4 });
  const started = await startJson(env, config);
  await waitFor(() => readCallLog(callLog).filter((e) => e.event === 'start' && e.model === 'model0').length >= 4, { timeoutMs: 60_000, message: 'calls to start' });
  const paused = await runCli(['pause', started.assignmentId], { env });
  assert.equal(paused.code, 0, paused.stderr);
  const pausedAt = Date.now();
  assert.equal((await statusJson(env, started.assignmentId)).status, 'paused');
  // Watch the call log for 5 s: every call that starts after pause returned is a failure.
  await waitFor(() => Date.now() - pausedAt >= 5_000, { timeoutMs: 10_000, intervalMs: 250, message: '5 s of pause' });
  const lateStarts = readCallLog(callLog).filter((e) => e.event === 'start' && e.t > pausedAt);
  assert.deepEqual(lateStarts, [], 'no model call starts while paused');
  const listed = (status: string) => runCli(['list', '--status', status, '--json'], { env }).then((r) => (JSON.parse(r.stdout) as Array<{ assignmentId: string; status: string }>));
  assert.deepEqual((await listed('paused')).filter((r) => r.assignmentId === started.assignmentId).map((r) => r.status), ['paused']);
  assert.ok(!(await listed('running')).some((r) => r.assignmentId === started.assignmentId), 'a paused run is not listed as running');
  await evalStatusBecomes(started.workflowId, 'paused');
  assert.equal((await runCli(['resume', started.assignmentId], { env })).code, 0);
  await evalStatusBecomes(started.workflowId, 'running');
  const end = await runCli(['watch', started.assignmentId], { env, timeoutMs: 300_000 });
  assert.equal(end.code, 0, end.stderr);
  const status = await statusJson(env, started.assignmentId);
  assert.equal(status.status, 'completed');
  assert.equal(status.counts.succeeded, 120);
});

test('Ctrl-C on start --watch stops watching only, and says the run goes on and how to cancel it', async () => {
  const { env, store } = await setup();
  const config = writeWorkload(dir, { name: 'interrupted', models: 1, tasks: 1, samples: 40, salt: 'interrupted', latencyMs: 2_000, concurrency: 2 });
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'evalctl.js'), 'start', config, '--watch'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const id = await waitFor(() => /started (\S+)/.exec(stdout)?.[1], { timeoutMs: 60_000, message: 'start to print the assignment id' });
  await waitFor(() => stderr.includes(`${id}  running`), { timeoutMs: 60_000, message: 'the progress screen' });
  child.kill('SIGINT');
  assert.equal(await closed, 130, stderr);
  assert.match(stderr, new RegExp(`stopped watching; assignment ${id} keeps running\\. Cancel it: evalctl cancel ${id}; follow it again: evalctl watch ${id}`));
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'running');
  assert.equal((await runCli(['cancel', id], { env })).code, 0);
});

test('unknown ids are clear errors with exit code 2', async () => {
  const { env } = await setup();
  for (const cmd of ['status', 'watch', 'pause', 'resume', 'cancel']) {
    const res = await runCli([cmd, 'no-such-assignment'], { env });
    assert.equal(res.code, 2, `${cmd}: ${res.stderr}`);
    assert.match(res.stderr, /no assignment with id "no-such-assignment"/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  }
  const bad = await runCli(['status', '../etc'], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not an assignment id/);
});

test('worker all picks up a rate-limited model\'s queue by itself; start warns only about queues no worker will poll', async () => {
  const { env, store } = await setup();
  const config = writeWorkload(dir, { name: 'unserved', models: 1, tasks: 1, samples: 3, salt: 'unserved' });
  const limited = config.replace(/\.yaml$/, '-limited.yaml');
  writeFileSync(limited, readFileSync(config, 'utf8').replace('concurrency: 16', 'concurrency: 16\n    rateLimit:\n      requestsPerSecond: 3'));
  const res = await runCli(['start', limited, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(res.stderr, /no worker polls/, 'the running worker all serves every queue, the model queue included');
  const id = (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
  const watched = await runCli(['watch', id], { env, timeoutMs: 60_000 });
  assert.equal(watched.code, 0, watched.stderr);
  const doc = await store.assignments.findOne({ _id: id });
  assert.equal(doc?.status, 'completed');
  assert.equal(doc?.counts.succeeded, 3);
  assert.match(worker?.output() ?? '', /now polling evalctl-inference\.model-model0 \(limit 3\/s\)/);
  // Other samples (another salt): the ones above would be reused, needing no queue at all.
  const other = writeWorkload(dir, { name: 'unserved-gpu', models: 1, tasks: 1, samples: 3, salt: 'unserved-gpu' });
  const gpu = other.replace(/\.yaml$/, '-gpu.yaml');
  writeFileSync(gpu, readFileSync(other, 'utf8').replace('concurrency: 16', 'concurrency: 16\n    resources:\n      gpuType: nobody'));
  const unserved = await runCli(['start', gpu, '--json'], { env });
  assert.equal(unserved.code, 0, unserved.stderr);
  assert.match(unserved.stderr, /warning: no worker polls evalctl-inference\.gpu-nobody; .*evalctl worker inference --gpu-type nobody/);
  assert.doesNotMatch(unserved.stderr, /no worker polls evalctl-(orchestrator|inference;)/, 'the running worker serves the orchestrator and shared queues');
  const gpuId = (JSON.parse(unserved.stdout) as { assignmentId: string }).assignmentId;
  assert.equal((await runCli(['cancel', gpuId], { env })).code, 0);
  assert.equal((await store.assignments.findOne({ _id: gpuId }))?.status, 'canceled');
});
