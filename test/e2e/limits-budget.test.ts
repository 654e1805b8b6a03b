import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { assignmentSpend } from '../../src/store/spend';
import { ErrorTypes } from '../../src/contracts';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, writeWorkload, type WorkloadSpec } from '../helpers/assignments';

/**
 * Per-sample limits (tokens, time) and assignment budgets against a real Temporal dev server, FerretDB and
 * a worker process, on the simulated provider: small and fast, so they fit the default suite.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-limits-'));
const callLog = join(dir, 'calls.jsonl');
let store: Store | undefined;
let worker: WorkerProcess | undefined;

const received: Array<Record<string, unknown>> = [];
const hooks: Server = createServer((req, res) => {
  let data = '';
  req.on('data', (c: Buffer) => (data += c.toString()));
  req.on('end', () => {
    received.push(JSON.parse(data) as Record<string, unknown>);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

before(() => new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve)));

after(async () => {
  await worker?.kill();
  await store?.close();
  await new Promise<void>((resolve) => hooks.close(() => resolve()));
});

async function setup(): Promise<{ store: Store; env: NodeJS.ProcessEnv }> {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store ??= await openStore(getStack().mongoUrl);
  worker ??= await startWorkerProcess(env);
  return { store, env };
}

type Config = Record<string, unknown> & { models: Array<Record<string, unknown> & { provider: Record<string, unknown> }>; tasks: Array<Record<string, unknown>> };

function workload(spec: WorkloadSpec, patch: (config: Config) => void): string {
  const path = writeWorkload(dir, spec);
  const config = parse(readFileSync(path, 'utf8')) as Config;
  config.output = false;
  patch(config);
  writeFileSync(path, stringify(config));
  return path;
}

test('limits: a call past limits.timeMs is aborted and a sample past limits.tokens fails, each once, typed', async () => {
  const { store, env } = await setup();
  const config = workload({ name: 'limits', models: 1, tasks: 2, samples: 3, salt: 'limits', latencyMs: 1_500 }, (c) => {
    c.failOnError = false;
    c.retry = { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1, maxIntervalMs: 100 };
    c.tasks[0].limits = { timeMs: 300 };
    // The prompt alone is more than 5 tokens, so every answer is over the limit.
    c.tasks[1].limits = { tokens: 5 };
    c.models[0].provider.latencyMs = 1_500;
  });
  const id = await startAssignment(env, config);
  const started = Date.now();
  assert.equal((await runCli(['watch', id], { env, timeoutMs: 60_000 })).code, 0, 'failOnError: false, so the run completes');
  const records = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(records.length, 6);
  assert.ok(records.every((r) => r.status === 'failed'), JSON.stringify(records.map((r) => r.status)));
  const results = await store.results.find({ _id: { $in: records.map((r) => r.sampleKey) } }).toArray();
  const byTask = (task: string) => results.filter((r) => r.taskId === task);
  for (const r of byTask('task0')) {
    assert.equal(r.errorType, ErrorTypes.TimeLimit);
    assert.match(r.error ?? '', /limits\.timeMs 300 ms/);
    assert.equal(r.attempts, 1, 'a time limit is not retried');
  }
  for (const r of byTask('task1')) {
    assert.equal(r.errorType, ErrorTypes.TokenLimit);
    assert.match(r.error ?? '', /above limits\.tokens 5/);
    assert.equal(r.attempts, 1, 'a token limit is not retried');
  }
  const keys0 = new Set(records.filter((r) => r.taskId === 'task0').map((r) => r.sampleKey));
  const log = readCallLog(callLog).filter((e) => keys0.has(e.sampleKey));
  assert.equal(log.filter((e) => e.event === 'start').length, 3, 'one call per time-limited sample');
  assert.equal(log.filter((e) => e.event === 'abort').length, 3, 'each was aborted, not left to finish');
  assert.ok(Date.now() - started < 30_000);
});

/** Starts a 40-sample assignment with a 100-token budget and a window of `window` calls. */
function budgetWorkload(name: string, window: number, patch: (c: Config) => void): string {
  return workload({ name, models: 1, tasks: 1, samples: 40, salt: name, latencyMs: 40, concurrency: window }, (c) => {
    c.models[0].pricing = { inputPer1k: 1, outputPer1k: 2 };
    c.budget = { maxTokens: 100 };
    patch(c);
  });
}

/** The budget's stop, checked on a run that ended: reason, spend within one window, counts, events, status. */
async function checkStopped(store: Store, env: NodeJS.ProcessEnv, id: string, window: number): Promise<void> {
  const doc = await store.assignments.findOne({ _id: id });
  assert.equal(doc?.status, 'failed');
  assert.match(doc?.error ?? '', /^budget exhausted: \d+ tokens of maxTokens 100 spent after \d+ model calls$/);
  const spend = await assignmentSpend(store.spend, id);
  assert.ok(spend.tokens >= 100, JSON.stringify(spend));
  assert.ok(doc?.spend && doc.spend.tokens >= 100 && doc.spend.tokens <= spend.tokens, 'the spend when the budget ran out is kept with the stop');
  // Calls needed to reach the limit, at the tokens each call used; at most one window of calls more may run.
  const perCall = spend.tokens / spend.calls;
  const needed = Math.ceil(100 / perCall);
  assert.ok(spend.calls <= needed + window, `${id}: ${spend.calls} calls for a budget reached after ${needed}`);
  const keys = new Set((await store.samples.find({ assignmentId: id }).toArray()).map((r) => r.sampleKey));
  const starts = readCallLog(callLog).filter((e) => e.event === 'start' && keys.has(e.sampleKey)).length;
  assert.equal(starts, spend.calls, 'every call that started was counted');
  const counts = doc?.counts;
  assert.ok(counts && counts.succeeded === spend.calls && counts.canceled === 40 - spend.calls, JSON.stringify(counts));
  const events = await store.events.find({ assignmentId: id }).toArray();
  const stop = events.find((e) => e.type === 'budget-exhausted');
  assert.ok(stop, 'a budget-exhausted event');
  assert.equal((stop.data as { reason?: string }).reason?.startsWith('budget exhausted'), true);
  assert.ok(events.some((e) => e.type === 'failed' && /budget exhausted/.test(String((e.data as { error?: string }).error))));
  const status = await runCli(['status', id], { env });
  assert.match(status.stdout, /budget: tokens \d+\/100 \(\d+ calls\); stopped: budget exhausted/);
}

test('budget: once maxTokens is spent no call starts, the run ends failed with the reason in status, events and notifications', async () => {
  const { store, env } = await setup();
  const hook = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/failed`;
  const perSample = budgetWorkload('budget', 2, (c) => void (c.notify = [{ kind: 'webhook', url: hook, on: ['failed'] }]));
  const batch = budgetWorkload('budget-batch', 4, (c) => void (c.fanout = 'batch'));
  const dry = await runCli(['start', perSample, '--dry-run', '--json'], { env });
  assert.equal(dry.code, 0, dry.stderr);
  const preview = JSON.parse(dry.stdout) as { totals: { executed: number; estimate: { inputTokens: number; outputTokens: number; cost: number } }; budget: { fits: boolean } };
  assert.equal(preview.totals.executed, 40);
  assert.ok(preview.totals.estimate.inputTokens > 40 * 10, 'input estimated from the prompt length');
  assert.equal(preview.totals.estimate.outputTokens, 40 * 256, 'output: 256 per call without max_tokens');
  assert.ok(Math.abs(preview.totals.estimate.cost - (preview.totals.estimate.inputTokens + 2 * 40 * 256) / 1000) < 1e-9, 'cost from pricing');
  assert.equal(preview.budget.fits, false);

  const ids = [await startAssignment(env, perSample), await startAssignment(env, batch)];
  const watched = await Promise.all(ids.map((id) => runCli(['watch', id], { env, timeoutMs: 90_000 })));
  assert.deepEqual(watched.map((w) => w.code), [1, 1], 'a budget stop fails the run');
  await checkStopped(store, env, ids[0], 2);
  await checkStopped(store, env, ids[1], 4);
  const note = await waitFor(() => received.find((b) => b.assignmentId === ids[0]), { timeoutMs: 30_000, message: 'the failed notification' });
  assert.match(String(note.error), /budget exhausted/);
});
