import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { parseIdentity } from '../../src/worker/identity';
import type { WorkerHealth } from '../../src/worker/metrics-server';
import type { PollerRow } from '../../src/worker/pollers';
import { readCallLog, writeWorkload } from '../helpers/assignments';
import { repoRoot, runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-gpu-fleet-'));
const workers: WorkerProcess[] = [];
let store: Store | undefined;
let plain: WorkerProcess | undefined;

after(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  await store?.close();
});

/** The plain all-in-one worker (orchestrator, scoring, shared inference) every test shares. */
async function setup(): Promise<{ env: NodeJS.ProcessEnv; store: Store; plain: WorkerProcess }> {
  const env = stackEnv(getStack());
  store ??= await openStore(getStack().mongoUrl);
  if (!plain) {
    // Not following rate-limited models: the rate test below counts the calls of its own two workers.
    plain = await startWorkerProcess(env, 'all', ['--name', 'plain', '--no-model-queues']);
    workers.push(plain);
  }
  return { env, store, plain };
}

async function runToEnd(env: NodeJS.ProcessEnv, config: string): Promise<string> {
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  const { assignmentId } = JSON.parse(res.stdout) as { assignmentId: string };
  const end = await runCli(['watch', assignmentId], { env, timeoutMs: 240_000 }).catch((err: unknown) => {
    const logs = workers.map((w) => `--- worker ${w.proc.pid}:\n${w.output().slice(-3000)}`).join('\n');
    throw new Error(`${err instanceof Error ? err.message.slice(0, 300) : String(err)}\n${logs}`);
  });
  assert.equal(end.code, 0, `watch: ${end.stderr}`);
  return assignmentId;
}

function metricsPortOf(worker: WorkerProcess): number {
  const m = /metrics=http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(worker.output());
  assert.ok(m, `no metrics port in: ${worker.output()}`);
  return Number(m[1]);
}

async function health(port: number): Promise<WorkerHealth> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return (await res.json()) as WorkerHealth;
}

interface GpuCall {
  cuda: string | null;
  start: number;
  end: number;
  pid: number;
  ppid: number;
  sampleKey: string;
}

test('a gpuType: fake model runs only on the fake-GPU worker, one call per GPU at a time; untagged runs on the plain worker', async () => {
  const { env, store, plain } = await setup();
  const gpu = await startWorkerProcess(env, 'inference', ['--gpu-type', 'fake', '--gpus', '0,1', '--metrics-port', '0', '--name', 'gpu']);
  workers.push(gpu);
  const gpuLog = join(dir, 'gpu-calls.jsonl');
  const fixture = join(__dirname, '..', 'fixtures', 'gpu-model.js');
  const models = [
    { id: 'gpu-model', provider: { kind: 'command', command: [process.execPath, fixture], env: { GPU_MODEL_LOG: gpuLog } }, resources: { gpus: 1, gpuType: 'fake' }, concurrency: 6 },
    { id: 'cpu-model', provider: { kind: 'simulated', latencyMs: 20 }, concurrency: 4 },
  ];
  const config = writeWorkload(dir, { name: 'gpu-routing', models: 0, tasks: 1, samples: 20, salt: 'gpu-routing', extra: { models } });
  const id = await runToEnd(env, config);
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(samples.length, 40);
  assert.ok(samples.every((s) => s.status === 'succeeded'), JSON.stringify(samples.filter((s) => s.status !== 'succeeded')));
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  for (const r of results) {
    const who = parseIdentity(r.worker ?? '');
    const expected = r.modelId === 'gpu-model' ? gpu.proc.pid : plain.proc.pid;
    assert.equal(who?.pid, expected, `${r.modelId} ran on ${r.worker}`);
  }
  assert.equal(parseIdentity(results.find((r) => r.modelId === 'gpu-model')?.worker ?? '')?.gpuType, 'fake');
  const calls = readFileSync(gpuLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as GpuCall);
  assert.ok(calls.length >= 20, `${calls.length} GPU calls`);
  assert.ok(calls.every((c) => c.ppid === gpu.proc.pid), 'every GPU call was started by the GPU worker');
  assert.ok(calls.every((c) => c.cuda === '0' || c.cuda === '1'), `CUDA_VISIBLE_DEVICES values: ${[...new Set(calls.map((c) => c.cuda))].join(' ')}`);
  let maxOverlap = 0;
  for (const a of calls) {
    const overlapping = calls.filter((b) => b !== a && b.start < a.end && a.start < b.end);
    for (const b of overlapping) assert.notEqual(a.cuda, b.cuda, `calls ${a.sampleKey} and ${b.sampleKey} shared GPU ${a.cuda}`);
    maxOverlap = Math.max(maxOverlap, overlapping.length + 1);
  }
  process.stderr.write(`gpu-fleet: ${calls.length} GPU calls, at most ${maxOverlap} at once; GPU 0: ${calls.filter((c) => c.cuda === '0').length}, GPU 1: ${calls.filter((c) => c.cuda === '1').length}\n`);
  assert.equal(maxOverlap, 2, 'both GPUs were used at once');
  const port = metricsPortOf(gpu);
  const h = await waitFor(async () => {
    const now = await health(port);
    return now.slots.busy === 0 && now.activities.inFlight === 0 ? now : undefined;
  }, { message: 'both GPU slots free after the run' });
  assert.equal(h.slots.total, 2);
  assert.ok(h.activities.done >= 20, `done ${h.activities.done}`);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(text, /^evalctl_worker_slots_busy\{identity="[^"]+"\} 0$/m);
  assert.match(text, /^evalctl_worker_activities_total\{[^}]*activity="inferAndScore",queue="evalctl-inference\.gpu-fake",outcome="done"\} \d+$/m);
  await gpu.kill('SIGTERM');
});

test('a 5 requests/s limit holds across two workers polling the model queue', async () => {
  const { env } = await setup();
  const callLog = join(dir, 'rate-calls.jsonl');
  const rateEnv = { ...env, EVALCTL_SIMULATED_CALL_LOG: callLog };
  const pair = await Promise.all([1, 2].map((i) => startWorkerProcess(rateEnv, 'inference', ['--queue-rate', 'rl-model=5', '--slots', '8', '--name', `rate-${i}`])));
  workers.push(...pair);
  const models = [{ id: 'rl-model', provider: { kind: 'simulated', latencyMs: 10 }, rateLimit: { requestsPerSecond: 5 }, concurrency: 16 }];
  const config = writeWorkload(dir, { name: 'rate', models: 0, tasks: 1, samples: 60, salt: 'rate-limit', extra: { models } });
  await runToEnd(env, config);
  const starts = readCallLog(callLog).filter((e) => e.event === 'start' && e.model === 'rl-model').map((e) => e.t).sort((a, b) => a - b);
  assert.equal(starts.length, 60);
  const overall = (starts.length - 1) / ((starts[starts.length - 1] - starts[0]) / 1000);
  let worstWindow = 0;
  for (const t of starts) worstWindow = Math.max(worstWindow, starts.filter((u) => u >= t && u < t + 2000).length / 2);
  const perWorker = pair.map((w) => readCallLog(callLog).filter((e) => e.event === 'start' && e.pid === w.proc.pid).length);
  process.stderr.write(`gpu-fleet: rate limit 5/s, two workers (${perWorker.join(' + ')} calls): measured ${overall.toFixed(2)} calls/s over the run, worst 2 s window ${worstWindow.toFixed(1)}/s\n`);
  assert.ok(perWorker.every((n) => n > 0), 'both workers served the queue');
  assert.ok(overall <= 5 * 1.5, `measured ${overall.toFixed(2)}/s exceeds the 5/s limit`);
  await Promise.all(pair.map((w) => w.kill('SIGTERM')));
});

test('--slots bounds the worker\'s model calls over every queue it polls', async () => {
  const { env } = await setup();
  const callLog = join(dir, 'slots-calls.jsonl');
  // Two queues only this worker polls: a tag's queue, and a rate-limited model's queue of that tag (the
  // plain worker picks up rate-limited models of no tag only).
  const slotted = await startWorkerProcess({ ...env, EVALCTL_SIMULATED_CALL_LOG: callLog }, 'inference', ['--slots', '2', '--queue', 'evalctl-inference.gpu-slotq', '--queue-rate', 'sl-limited=100', '--name', 'slotted']);
  workers.push(slotted);
  const resources = { gpuType: 'slotq' };
  const models = [
    // Different seeds: models alike in all else would share sample keys, and one would reuse the other's answers.
    { id: 'sl-limited', provider: { kind: 'simulated', latencyMs: 300, seed: 1 }, rateLimit: { requestsPerSecond: 100 }, concurrency: 8, resources },
    { id: 'sl-tagged', provider: { kind: 'simulated', latencyMs: 300, seed: 2 }, concurrency: 8, resources },
  ];
  const config = writeWorkload(dir, { name: 'slots', models: 0, tasks: 1, samples: 24, salt: 'slots-per-worker', extra: { models } });
  await runToEnd(env, config);
  const mine = readCallLog(callLog).filter((e) => e.pid === slotted.proc.pid && (e.event === 'start' || e.event === 'end')).sort((a, b) => a.t - b.t || (a.event === 'end' ? -1 : 1));
  let inFlight = 0;
  let peak = 0;
  for (const e of mine) peak = Math.max(peak, (inFlight += e.event === 'start' ? 1 : -1));
  const byModel = new Set(mine.filter((e) => e.event === 'start').map((e) => e.model));
  process.stderr.write(`gpu-fleet: --slots 2 worker ran ${mine.length / 2} calls of ${[...byModel].join(', ')}, peak ${peak} in flight\n`);
  assert.ok(byModel.has('sl-limited') && byModel.has('sl-tagged'), `the worker served both queues: ${[...byModel].join(', ')}`);
  assert.ok(peak <= 2, `peak ${peak} calls in flight on a worker with --slots 2`);
  assert.doesNotMatch(slotted.output(), /No workflows registered/, 'the SDK\'s warning about an activity-only worker stays out of the terminal');
  await slotted.kill('SIGTERM');
});

/** Two consecutive free ports on 127.0.0.1, for --base-port. */
async function freePortPair(): Promise<number> {
  const free = (port: number): Promise<boolean> => new Promise((resolve) => {
    const srv = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  return waitFor(async () => {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    return (await free(base)) && (await free(base + 1)) ? base : undefined;
  }, { intervalMs: 1, message: 'two free ports' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('workers start supervises its workers: a SIGKILLed one is restarted, workers list shows them, SIGTERM stops all', async () => {
  const { env } = await setup();
  const base = await freePortPair();
  const logDir = join(dir, 'fleet-logs');
  const bin = join(repoRoot(), 'bin', 'evalctl.js');
  const sup = spawn(process.execPath, [bin, 'workers', 'start', '--start', 'inference', '1', 'scoring', '1', '--base-port', String(base), '--log-dir', logDir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let supOut = '';
  sup.stderr?.on('data', (d: Buffer) => (supOut += d.toString()));
  const supExited = new Promise<number | null>((resolve) => sup.once('exit', (code) => resolve(code)));
  after(() => void (sup.exitCode === null && sup.kill('SIGKILL')));
  const ready = (port: number) => waitFor(() => health(port), { timeoutMs: 90_000, message: `worker on port ${port} to answer` });
  const [inference, scoring] = [await ready(base), await ready(base + 1)];
  assert.equal(parseIdentity(inference.identity)?.name, 'inference-1');
  assert.equal(parseIdentity(scoring.identity)?.name, 'scoring-1');
  const listed = await waitFor(async () => {
    const res = await runCli(['workers', 'list', '--json'], { env });
    assert.equal(res.code, 0, res.stderr);
    const rows = (JSON.parse(res.stdout) as { workers: PollerRow[] }).workers;
    const pids = rows.map((r) => r.worker?.pid);
    return pids.includes(inference.pid) && pids.includes(scoring.pid) ? rows : undefined;
  }, { timeoutMs: 30_000, message: 'workers list to show both fleet workers' });
  const row = listed.find((r) => r.worker?.pid === inference.pid);
  assert.equal(row?.worker?.type, 'inference');
  assert.ok(row?.queues.includes('evalctl-inference (activity)'));
  assert.ok(Date.now() - Date.parse(row?.lastSeen ?? '') < 120_000, `last seen ${row?.lastSeen}`);
  process.kill(inference.pid, 'SIGKILL');
  const restarted = await waitFor(async () => {
    const h = await health(base);
    return h.pid !== inference.pid ? h : undefined;
  }, { timeoutMs: 90_000, message: 'the killed worker to come back' });
  assert.equal(parseIdentity(restarted.identity)?.name, 'inference-1');
  const log = readFileSync(join(logDir, 'inference-1.log'), 'utf8');
  assert.match(log, /killed by SIGKILL; restart #1 in \d+ ms/);
  assert.match(log, /worker ready/);
  assert.ok(existsSync(join(logDir, 'scoring-1.log')));
  sup.kill('SIGTERM');
  assert.equal(await supExited, 0, supOut);
  assert.ok(!alive(restarted.pid) && !alive(scoring.pid), 'SIGTERM stopped every worker');
  assert.match(supOut, /fleet stopped/);
});
