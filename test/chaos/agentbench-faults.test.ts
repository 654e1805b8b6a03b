import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { startAgentBenchServer, type AgentBenchOptions, type AgentBenchServer } from '../fixtures/agentbench-server';

/**
 * Agent episodes against the AgentBench fixture under faults: a worker killed mid-episode, the controller
 * restarted mid-run, a turn that never returns, a cancel. Each scenario reports its measured outcome
 * (episodes completed / restarted / lost / duplicated, sessions left on the controller) on stderr.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-abfaults-'));
const workers: WorkerProcess[] = [];
let store: Store | undefined;

after(async () => {
  await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
  await store?.close();
});

async function setup(t: TestContext, opts: AgentBenchOptions): Promise<{ store: Store; env: NodeJS.ProcessEnv; server: AgentBenchServer }> {
  const env = stackEnv(getStack());
  store ??= await openStore(getStack().mongoUrl);
  if (workers.length === 0) workers.push(await startWorkerProcess(env, 'all'));
  const server = await startAgentBenchServer(opts);
  t.after(() => server.close());
  await waitFor(async () => (await fetch(`${server.url}/get_indices?name=${opts.task}`)).ok, { timeoutMs: 10_000, message: 'fixture workers registered' });
  const w = await startWorkerProcess(env, 'task', ['ab', '--capacity', '8']);
  t.after(() => w.kill('SIGKILL'));
  return { store, env, server };
}

function config(name: string, server: AgentBenchServer, task: Record<string, unknown>, latencyMs: number): string {
  const doc = {
    name,
    models: [{ id: 'agent', provider: { kind: 'simulated', latencyMs, accuracy: 0.8, seed: 5 }, concurrency: 8 }],
    tasks: [{ id: name, kind: 'agent', environment: { kind: 'agentbench', name: 'ab', url: server.url, task: 'echo', retryAfterMs: 200 }, maxTurns: 12, timeLimitMs: 120_000, maxRestarts: 5, ...task }],
    retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 1000 },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

async function watchToEnd(env: NodeJS.ProcessEnv, id: string): Promise<void> {
  const end = await runCli(['watch', id], { env, timeoutMs: 300_000 });
  assert.ok([0, 1].includes(end.code), end.stderr);
}

/** The outcome of a run: episodes by status, restarts, duplicates on the server, sessions left anywhere. */
async function outcome(store: Store, env: NodeJS.ProcessEnv, server: AgentBenchServer, id: string) {
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
  const perIndex = new Map<number, number>();
  for (const f of server.finished()) perIndex.set(Number(f.index), (perIndex.get(Number(f.index)) ?? 0) + 1);
  const listed = JSON.parse((await runCli(['sessions', '--json', '--assignment', id], { env })).stdout) as unknown[];
  const figures = {
    samples: samples.length,
    completed: results.filter((r) => r.status === 'succeeded' && r.episode?.status === 'completed').length,
    limited: results.filter((r) => r.episode?.status === 'task limit reached').length,
    failed: samples.filter((s) => s.status === 'failed').length,
    canceled: samples.filter((s) => s.status === 'canceled').length,
    restarts: results.reduce((n, r) => n + (r.restarts ?? 0), 0),
    duplicated: [...perIndex.values()].filter((n) => n > 1).length,
    controllerSessions: Object.keys(server.listSessions()).length,
    evalctlSessions: listed.length,
    errors: results.filter((r) => r.status === 'failed').map((r) => `${r.errorType ?? ''}: ${r.error ?? ''}`),
    restartReasons: reasonCounts(results.flatMap((r) => r.restartReasons ?? [])),
  };
  process.stderr.write(`agentbench-faults ${id}: ${JSON.stringify(figures)}\n`);
  return { figures, results };
}

/** Restart reasons by kind, for the scenario's figures. */
function reasonCounts(reasons: string[]): Record<string, number> {
  const kinds: Array<[string, RegExp]> = [
    ['id collision', /Session ID already exists/], ['started, not listed', /not listed/], ['gone from the controller', /no longer on the controller/],
    ['controller unreachable', /cannot be checked|lost its interact/], ['worker not responding', /Worker not responding/], ['worker lost', /task worker lost|not held by/],
  ];
  const counts: Record<string, number> = {};
  for (const reason of reasons) {
    const kind = kinds.find(([, re]) => re.test(reason))?.[0] ?? 'other';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

async function noSessionsLeft(env: NodeJS.ProcessEnv, server: AgentBenchServer, id: string): Promise<void> {
  let last = '';
  await waitFor(async () => {
    const listed = JSON.parse((await runCli(['sessions', '--json', '--assignment', id], { env })).stdout) as unknown[];
    last = JSON.stringify({ controller: server.listSessions(), evalctl: listed });
    return Object.keys(server.listSessions()).length === 0 && listed.length === 0;
  }, { timeoutMs: 90_000, intervalMs: 500, message: 'no session left on the controller nor in `evalctl sessions`' }).catch((err: Error) => {
    throw new Error(`${err.message}: ${last}`);
  });
}

test('an AgentBench worker killed mid-episode: its episodes restart elsewhere and complete, once each', async (t) => {
  const { store, env, server } = await setup(t, { task: 'echo', count: 8, workers: 2, concurrency: 3, script: { rounds: () => 4, limit: () => 0 } });
  const id = await startAssignment(env, config('ab-kill', server, {}, 300));
  const victim = await waitFor(() => Object.values(server.listSessions()).find((s) => s.last_update > s.start + 0.2)?.worker_id, { timeoutMs: 60_000, intervalMs: 100, message: 'a session past its first turn' });
  server.killWorker(victim);
  // A supervisor brings the worker process back once the controller has found it dead.
  await waitFor(() => server.workerStatus(victim) === 'DEAD', { timeoutMs: 60_000, message: 'the controller to mark the worker dead' });
  server.reviveWorker(victim);
  await watchToEnd(env, id);
  await noSessionsLeft(env, server, id);
  const { figures } = await outcome(store, env, server, id);
  assert.equal(figures.completed, 8);
  assert.ok(figures.restarts >= 1, 'restarts are counted');
  assert.equal(figures.duplicated, 0, 'no sample ran to its end twice');
});

test('the controller restarted mid-run: episodes restart, complete once each, and no session is left', async (t) => {
  const { store, env, server } = await setup(t, { task: 'echo', count: 8, workers: 2, concurrency: 3, script: { rounds: () => 4, limit: () => 0 } });
  const id = await startAssignment(env, config('ab-restart', server, {}, 300));
  await waitFor(() => Object.values(server.listSessions()).filter((s) => s.last_update > s.start + 0.2).length >= 2, { timeoutMs: 60_000, intervalMs: 100, message: 'sessions past their first turn' });
  await server.restartController();
  await watchToEnd(env, id);
  await noSessionsLeft(env, server, id);
  const { figures } = await outcome(store, env, server, id);
  assert.equal(figures.completed, 8);
  assert.ok(figures.restarts >= 1);
  assert.equal(figures.duplicated, 0);
});

test('a turn that never returns ends the episode as `task limit reached` at the time limit; its session is cancelled', async (t) => {
  const { store, env, server } = await setup(t, { task: 'echo', count: 3, concurrency: 3, script: { rounds: (i) => (i === 0 ? 3 : 1), limit: () => 0, hang: new Set([0]), hangMs: 25_000 } });
  const id = await startAssignment(env, config('ab-hang', server, { timeLimitMs: 8_000 }, 50));
  await watchToEnd(env, id);
  const { figures, results } = await outcome(store, env, server, id);
  const hung = results.find((r) => r.episode?.index === 0)!;
  assert.equal(hung.status, 'succeeded');
  assert.equal(hung.episode?.status, 'task limit reached');
  const took = hung.finishedAt.getTime() - (hung.startedAt?.getTime() ?? 0);
  process.stderr.write(`agentbench-faults ${id}: the hung episode ended as ${hung.episode?.status} after ${took} ms (limit 8000 ms)\n`);
  assert.ok(took >= 8_000 && took < 16_000, `ended at the limit (${took} ms)`);
  assert.equal(figures.completed, 2);
  await noSessionsLeft(env, server, id);
});

test('cancel mid-run: every session on the controller is cancelled', async (t) => {
  const { store, env, server } = await setup(t, { task: 'echo', count: 6, concurrency: 6, script: { rounds: () => 0, limit: () => 100 } });
  const id = await startAssignment(env, config('ab-cancel', server, { maxTurns: 100 }, 400));
  await waitFor(() => Object.keys(server.listSessions()).length >= 3, { timeoutMs: 60_000, intervalMs: 100, message: 'live sessions on the controller' });
  const res = await runCli(['cancel', id, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  await noSessionsLeft(env, server, id);
  const { figures } = await outcome(store, env, server, id);
  assert.equal(figures.canceled + figures.limited + figures.completed, 6);
});

test('the task disappears from the controller mid-run (406 "Task does not exist"): the first such episode stops the job, the assignment ends failed within 10 s', async (t) => {
  const { store, env, server } = await setup(t, { task: 'echo', count: 30, concurrency: 2, script: { rounds: () => 0, limit: () => 100 } });
  const id = await startAssignment(env, config('ab-gone', server, { maxTurns: 100 }, 300));
  await waitFor(() => Object.keys(server.listSessions()).length >= 1, { timeoutMs: 60_000, intervalMs: 100, message: 'a live session' });
  const removedAt = Date.now();
  server.removeTask();
  const doc = await waitFor(async () => {
    const a = await store.assignments.findOne({ _id: id });
    return a && ['failed', 'completed', 'canceled'].includes(a.status) ? a : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200, message: 'the assignment to end' });
  const took = Date.now() - removedAt;
  process.stderr.write(`agentbench-faults ${id}: ended ${doc.status} ${took} ms after the task disappeared; counts ${JSON.stringify(doc.counts)}\n`);
  assert.equal(doc.status, 'failed');
  assert.ok(took < 10_000, `ended within 10 s (${took} ms)`);
  // The job stopped: only the episodes already in its window failed, the rest never started.
  assert.equal(doc.counts.total, 30);
  assert.ok(doc.counts.failed >= 1 && doc.counts.failed <= 8, `failed only within the window (${doc.counts.failed})`);
  assert.equal(doc.counts.failed + doc.counts.canceled, 30, JSON.stringify(doc.counts));
  // The reason is the assignment's error, in status and in its events.
  assert.match(doc.error ?? '', /no such task on the controller/);
  const status = await runCli(['status', id], { env });
  assert.match(status.stdout + status.stderr, /no such task on the controller/);
  const failedEvent = await store.events.findOne({ assignmentId: id, type: 'failed' });
  assert.match(String((failedEvent?.data as { error?: unknown } | undefined)?.error), /no such task/);
  await noSessionsLeft(env, server, id);
  await outcome(store, env, server, id);
});
