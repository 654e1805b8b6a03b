import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { calculateOverall } from '../../src/environments/builtin/number-guess';
import { openStore, type Store } from '../../src/store/store';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { startAgentBenchServer } from '../fixtures/agentbench-server';
import { readCallLog } from '../helpers/assignments';
import type { PollerRow } from '../../src/worker/pollers';
import { replayModelTurns } from '../../src/contracts';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-agent-'));
const callLog = join(dir, 'calls.jsonl');
const workers: WorkerProcess[] = [];
let store: Store | undefined;

after(async () => {
  await Promise.allSettled(workers.map((w) => w.kill('SIGKILL')));
  await store?.close();
});

async function setup(): Promise<{ store: Store; env: NodeJS.ProcessEnv }> {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store ??= await openStore(getStack().mongoUrl);
  if (workers.length === 0) workers.push(await startWorkerProcess(env, 'all'));
  return { store, env };
}

/** A task worker of this test only: stopped when the test ends, whether it passed or not. */
async function taskWorker(t: TestContext, env: NodeJS.ProcessEnv, environment: string, capacity: number): Promise<WorkerProcess> {
  const w = await startWorkerProcess(env, 'task', [environment, '--capacity', String(capacity)]);
  t.after(() => w.kill('SIGKILL'));
  return w;
}

function writeConfig(name: string, task: Record<string, unknown>, latencyMs: number, accuracy = 0.8): string {
  const config = {
    name,
    models: [{ id: 'agent', provider: { kind: 'simulated', latencyMs, accuracy, seed: 3 }, concurrency: 6 }],
    tasks: [{ id: name, kind: 'agent', maxTurns: 12, timeLimitMs: 120_000, ...task }],
    retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 1000 },
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

async function runToEnd(env: NodeJS.ProcessEnv, config: string, onStarted?: (id: string) => Promise<void>): Promise<string> {
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  const { assignmentId } = JSON.parse(res.stdout) as { assignmentId: string };
  await onStarted?.(assignmentId);
  const end = await runCli(['watch', assignmentId], { env, timeoutMs: 300_000 });
  assert.equal(end.code, 0, end.stderr);
  return assignmentId;
}

async function episodesOf(store: Store, assignmentId: string) {
  const samples = await store.samples.find({ assignmentId }).toArray();
  return store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
}

const guess = (seed: number, count: number) => ({
  environment: { kind: 'module', name: 'number-guess', module: 'builtin:number-guess', options: { count, max: 100, maxGuesses: 7, seed } },
  prompt: [{ role: 'system', content: 'Reply with one number only.' }],
});

test('number guessing: every episode ends with a transcript and a score; sessions are listed while live', async (t) => {
  const { store, env } = await setup();
  await taskWorker(t, env, 'number-guess', 4);
  let sawSessions = false;
  const id = await runToEnd(env, writeConfig('guess-a', guess(11, 8), 150), async (assignmentId) => {
    const listed = await waitFor(async () => {
      const res = await runCli(['sessions', '--json', '--assignment', assignmentId], { env });
      const rows = JSON.parse(res.stdout) as Array<{ task: string; worker: string; turn: number }>;
      return rows.length > 0 ? rows : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300, message: 'a live session in `evalctl sessions`' });
    sawSessions = listed.every((r) => r.task === 'guess-a' && r.worker.startsWith('task@'));
  });
  assert.ok(sawSessions, 'sessions name their task and task worker');
  // workers list asks about the environment's queue of recent agent tasks, so task workers are listed.
  const listed = await runCli(['workers', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  const rows = (JSON.parse(listed.stdout) as { workers: PollerRow[] }).workers;
  assert.ok(rows.some((r) => r.worker?.type === 'task' && r.queues.some((q) => q.startsWith('evalctl-task.number-guess '))), JSON.stringify(rows));
  const results = await episodesOf(store, id);
  assert.equal(results.length, 8);
  for (const r of results) {
    assert.equal(r.status, 'succeeded');
    assert.ok(r.transcript && r.transcript.length >= 3, 'intro, a guess and an answer at least');
    assert.equal(r.transcript[0].role, 'user');
    assert.ok(r.transcript.some((m) => m.role === 'assistant'));
    assert.ok(['completed', 'task limit reached'].includes(r.episode!.status));
    assert.equal(r.score?.value, r.episode!.status === 'completed' ? 1 : 0);
    assert.equal(r.restarts, 0);
  }
  const job = await store.jobs.findOne({ assignmentId: id });
  const outputs = results.map((r) => ({ index: r.episode!.index, status: r.episode!.status, result: r.episode!.result, history: [] }));
  assert.deepEqual(job?.overall, calculateOverall(outputs));
  assert.equal(await store.sessions.countDocuments({ assignmentId: id }), 0, 'no session left behind');
});

test('killing the task worker mid-episode restarts its episodes on another worker and the run completes', async (t) => {
  const { store, env } = await setup();
  const a = await taskWorker(t, env, 'number-guess', 3);
  const b = await taskWorker(t, env, 'number-guess', 3);
  const pids = new Map([[a.proc.pid, a], [b.proc.pid, b]]);
  let killed = 0;
  const id = await runToEnd(env, writeConfig('guess-kill', guess(12, 10), 400, 0.6), async (assignmentId) => {
    const victim = await waitFor(async () => {
      const docs = await store.sessions.find({ assignmentId, turn: { $gte: 1 } }).toArray();
      const pid = docs.length > 0 ? Number(/:(\d+);/.exec(docs[0].worker)?.[1]) : undefined;
      return pid && pids.has(pid) ? pid : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100, message: 'a session past its first turn' });
    killed = await store.sessions.countDocuments({ assignmentId, worker: new RegExp(`:${victim};`) });
    await pids.get(victim)!.kill('SIGKILL');
  });
  assert.ok(killed >= 1);
  const results = await episodesOf(store, id);
  assert.equal(results.length, 10);
  for (const r of results) {
    assert.equal(r.status, 'succeeded');
    assert.ok(r.transcript && r.transcript.length >= 3);
    assert.equal(typeof r.score?.value, 'number');
  }
  const restarts = results.reduce((n, r) => n + (r.restarts ?? 0), 0);
  assert.ok(restarts >= 1, `restarts counted (${restarts})`);
  const status = JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { status: string; counts: { succeeded: number } };
  assert.equal(status.status, 'completed');
  assert.equal(status.counts.succeeded, 10);
});

test('AgentBench v0.2: 406 backs off, the model sees every history AgentBench returns (rewritten, truncated), overall matches', async (t) => {
  const { store, env } = await setup();
  // Sample 1's task clears and restores its history; long observations make AgentBench truncate (filter_messages).
  const server = await startAgentBenchServer({ task: 'echo', count: 6, concurrency: 2, script: { rewrite: new Set([1]), rounds: (i) => (i % 4 === 3 ? 0 : 2 + (i % 3)), thresholdSegments: 60, padding: 80 } });
  t.after(() => server.close());
  await taskWorker(t, env, 'ab', 4);
  const task = { environment: { kind: 'agentbench', name: 'ab', url: server.url, task: 'echo', retryAfterMs: 200 }, maxTurns: 6 };
  const id = await runToEnd(env, writeConfig('ab-echo', task, 20));
  assert.ok(server.rejected() >= 1, 'the controller answered 406 (no worker available) at least once');
  const results = await episodesOf(store, id);
  assert.equal(results.length, 6);
  const chat = (h: Array<{ role: string; content: string }>) => h.map((m) => ({ role: m.role === 'agent' ? 'assistant' : 'user', content: m.content }));
  let truncated = 0;
  for (const r of results) {
    const served = server.served(r.episode!.index as number);
    const views = replayModelTurns(r.modelTurns ?? []).map((v) => v.view);
    // What the model saw at every turn is exactly what AgentBench answered, and the transcript its final history.
    assert.deepEqual(views, served.slice(0, views.length).map(chat), `sample ${r.sampleIndex}`);
    assert.deepEqual(r.transcript, chat(served[served.length - 1]));
    assert.equal(r.attempts, 1);
    truncated += views.filter((v) => /\[NOTICE\] \d+ messages are omitted/.test(v[0]?.content ?? '')).length;
  }
  assert.ok(truncated >= 1, 'some turn saw a truncated history');
  const rewritten = results.find((r) => r.episode!.index === 1)!;
  assert.match(r0(replayModelTurns(rewritten.modelTurns ?? [])[1]?.view), /^summary of sample 1/);
  const job = await store.jobs.findOne({ assignmentId: id });
  assert.deepEqual(job?.overall, server.overallOfFinished());
  assert.deepEqual(server.listSessions(), {}, 'no session left on the controller');
  assert.equal(await store.sessions.countDocuments({ assignmentId: id }), 0);
});

test('AgentBench: a task the controller does not have is refused by validate, --dry-run and start (exit 2, nothing started)', async () => {
  const { store, env } = await setup();
  const server = await startAgentBenchServer({ task: 'echo', count: 2, concurrency: 1 });
  try {
    await waitFor(async () => (await fetch(`${server.url}/get_indices?name=echo`)).ok, { timeoutMs: 10_000, message: 'the fixture worker registered' });
    const config = writeConfig('ab-unknown', { environment: { kind: 'agentbench', name: 'ab', url: server.url, task: 'no-such-task' } }, 20);
    const before = await store.assignments.countDocuments({ name: 'ab-unknown' });
    const commands = [['validate', config], ['start', config, '--dry-run'], ['start', config]];
    const answers = await Promise.all(commands.map((args) => runCli(args, { env })));
    for (const [i, res] of answers.entries()) {
      assert.equal(res.code, 2, `${commands[i].join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /task ab-unknown: environment ab: .*no such task.*Task does not exist/);
    }
    assert.equal(await store.assignments.countDocuments({ name: 'ab-unknown' }), before, 'nothing started');
  } finally {
    await server.close();
  }
});

/** The first message of a view. */
function r0(view: Array<{ content: string }> | undefined): string {
  return view?.[0]?.content ?? '';
}

test('cancel mid-episode: the run ends canceled, model turns in flight end, none starts after cancel returns, no session is left', async (t) => {
  const { store, env } = await setup();
  await taskWorker(t, env, 'number-guess', 3);
  // The tests of this file run one after another: calls from now on are this run's.
  const startedAt = Date.now();
  const id = await startAssignment(env, writeConfig('guess-cancel', guess(13, 12), 1_500, 0.3));
  const turnsOf = () => readCallLog(callLog).filter((e) => e.t >= startedAt);
  await waitFor(async () => (await store.sessions.countDocuments({ assignmentId: id, turn: { $gte: 1 } })) > 0, { timeoutMs: 60_000, intervalMs: 100, message: 'a session past its first turn' });
  const canceled = await runCli(['cancel', id, '--json'], { env });
  const returnedAt = Date.now();
  assert.equal(canceled.code, 0, canceled.stderr);
  assert.deepEqual(JSON.parse(canceled.stdout), [{ assignmentId: id, status: 'canceled' }]);
  const doc = await store.assignments.findOne({ _id: id });
  assert.equal(doc?.status, 'canceled');
  const c = doc!.counts;
  assert.ok(c.canceled > 0, 'episodes not finished by the cancel count as canceled');
  assert.equal(c.succeeded + c.failed + c.reused + c.canceled, c.total);
  const calls = await waitFor(() => {
    const entries = turnsOf();
    const open = entries.filter((e) => e.event === 'start').length - entries.filter((e) => e.event !== 'start').length;
    return open === 0 ? entries : undefined;
  }, { timeoutMs: 30_000, message: 'every model turn in flight to end' });
  assert.ok(calls.some((e) => e.event === 'end'), 'turns ran before the cancel');
  assert.deepEqual(calls.filter((e) => e.event === 'start' && e.t > returnedAt), [], 'no model turn starts after cancel returns');
  await waitFor(async () => (await store.sessions.countDocuments({ assignmentId: id })) === 0, { timeoutMs: 90_000, message: 'the sessions of canceled episodes to close' });
  // Episodes in flight at the cancel are recorded canceled by their own workflow (not only counted so).
  assert.ok(await store.samples.countDocuments({ assignmentId: id, status: 'canceled' }) >= 1, 'in-flight episodes recorded canceled');
});
