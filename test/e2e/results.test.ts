import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { aggregate } from '../../src/metrics';
import { parseCsv } from '../../src/report/format';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import type { EventDoc } from '../../src/store/documents';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, writeWorkload, type WorkloadSpec } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-results-'));
const callLog = join(dir, 'calls.jsonl');
let store: Store | undefined;
let worker: WorkerProcess | undefined;

/** A local webhook receiver: every POST body by path. */
const received: Array<{ path: string; body: Record<string, unknown> }> = [];
const hooks: Server = createServer((req, res) => {
  let data = '';
  req.on('data', (c: Buffer) => (data += c.toString()));
  req.on('end', () => {
    received.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0}');
  });
});
let hookBase = '';

before(async () => {
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hookBase = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
});

after(async () => {
  await worker?.kill();
  await store?.close();
  await new Promise<void>((resolve) => hooks.close(() => resolve()));
});

async function setup(): Promise<{ store: Store; env: NodeJS.ProcessEnv }> {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog, EVALCTL_EXPORT: '1' });
  store ??= await openStore(getStack().mongoUrl);
  worker ??= await startWorkerProcess(env);
  return { store, env };
}

/** Writes a workload, then lets the test change the config (providers, task ids, notify, output). */
function workload(spec: WorkloadSpec, patch: (config: Record<string, unknown> & { models: Array<Record<string, Record<string, unknown>>>; tasks: Array<Record<string, unknown>> }) => void = () => undefined): string {
  const path = writeWorkload(dir, spec);
  const config = parse(readFileSync(path, 'utf8')) as Parameters<typeof patch>[0];
  // No export into the test's working directory unless the test asks for one.
  config.output = false;
  patch(config);
  writeFileSync(path, stringify(config));
  return path;
}

async function eventsOf(s: Store, id: string): Promise<EventDoc[]> {
  return s.events.find({ assignmentId: id }).sort({ at: 1 }).toArray();
}

/** Waits until the assignment's follow-ups (leaderboards, export, notifications) are recorded as done. */
async function finalized(s: Store, id: string): Promise<EventDoc[]> {
  return waitFor(async () => {
    const events = await eventsOf(s, id);
    return events.some((e) => e.type === 'finalized') ? events : undefined;
  }, { timeoutMs: 60_000, message: `the finalized event of ${id}` });
}

interface ReportJson {
  assignmentId: string;
  status: string;
  tasks: string[];
  rows: Array<{ modelId: string; cells: Record<string, { jobId: string; counts: Record<string, number>; score: { n: number; mean: number; ci95: [number, number] } | null }> }>;
  details?: Array<{ modelId: string; taskId: string; index: number; sampleKey: string; status: string; prediction: string | null; score: number | null }>;
}

/** Recomputes each job's score from the raw samples and results, as the report should show it. */
async function recompute(s: Store, id: string): Promise<Map<string, ReturnType<typeof aggregate> & { failed: number }>> {
  const samples = await s.samples.find({ assignmentId: id }).toArray();
  const results = new Map((await s.results.find({ _id: { $in: samples.map((x) => x.sampleKey) } }).toArray()).map((r) => [r._id, r]));
  const byJob = new Map<string, { scores: Array<{ value: number; passed?: boolean }>; failed: number }>();
  for (const x of samples) {
    const entry = byJob.get(x.jobId) ?? { scores: [], failed: 0 };
    byJob.set(x.jobId, entry);
    const r = results.get(x.sampleKey);
    if (x.status === 'failed') entry.failed += 1;
    if ((x.status === 'succeeded' || x.status === 'reused') && r?.score) entry.scores.push({ value: r.score.value, passed: r.score.passed });
  }
  return new Map([...byJob].map(([job, e]) => [job, { ...aggregate(e.scores), failed: e.failed }]));
}

test('report figures equal a recomputation from raw results; json and csv parse; export matches the database', async () => {
  const { store, env } = await setup();
  const config = workload({ name: 'results', models: 2, tasks: 2, samples: 25, salt: 'results' }, (c) => {
    c.models[1].provider.permanentErrorRate = 0.2;
    c.failOnError = false;
    c.output = join(dir, 'out-{NAME}');
    c.notify = [{ kind: 'webhook', url: `${hookBase}/completed`, on: ['completed'] }];
  });
  const id = await startAssignment(env, config);
  assert.equal((await runCli(['watch', id], { env, timeoutMs: 300_000 })).code, 0);
  const events = await finalized(store, id);
  const expected = await recompute(store, id);

  const json = JSON.parse((await runCli(['report', id, '--format', 'json'], { env })).stdout) as ReportJson;
  assert.equal(json.status, 'completed');
  for (const row of json.rows) {
    for (const task of json.tasks) {
      const cell = row.cells[task];
      const want = expected.get(cell.jobId);
      assert.ok(want && cell.score, cell.jobId);
      assert.equal(cell.score.n, want.n);
      assert.ok(Math.abs(cell.score.mean - want.mean) < 1e-12, `${cell.jobId} mean`);
      assert.deepEqual(cell.score.ci95, want.ci95);
      assert.equal(cell.counts.failed, want.failed);
    }
  }
  assert.ok([...expected.values()].some((e) => e.failed > 0), 'the workload has failed samples');

  const csv = parseCsv((await runCli(['report', id, '--format', 'csv'], { env })).stdout);
  for (const row of json.rows) {
    const line = csv.find((r) => r[0] === row.modelId);
    for (const task of json.tasks) assert.equal(Number(line?.[csv[0].indexOf(task)]), row.cells[task].score?.mean);
  }
  const details = JSON.parse((await runCli(['report', id, '--format', 'json', '--details'], { env })).stdout) as ReportJson;
  assert.equal(details.details?.length, 100);
  const text = await runCli(['report', id], { env });
  assert.match(text.stdout, /model0\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] n=25\/25/);
  assert.match(text.stdout, /model1\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] n=\d+\/25 \(\d+ failed\)/, 'a score says how many samples failed');
  checkFailedRecords(parseCsv((await runCli(['report', id, '--details', '--format', 'csv'], { env })).stdout));

  const exported = events.find((e) => e.type === 'exported');
  assert.equal(exported?.data?.dir, join(dir, 'out-results'));
  await checkExport(store, id, join(dir, 'out-results'));
  const cliExport = await runCli(['export', id, '-o', join(dir, 'cli-export')], { env });
  assert.equal(cliExport.code, 0, cliExport.stderr);
  await checkExport(store, id, join(dir, 'cli-export'));

  const hook = await waitFor(() => received.find((r) => r.path === '/completed' && r.body.assignmentId === id), { message: 'the completed webhook' });
  const doc = await store.assignments.findOne({ _id: id });
  assert.equal(hook.body.event, 'assignment.completed');
  assert.deepEqual(hook.body.counts, doc?.counts);
  const jobs = hook.body.jobs as Array<{ jobId: string; score: { mean: number } }>;
  assert.equal(jobs.length, 4);
  for (const j of jobs) assert.ok(Math.abs(j.score.mean - (expected.get(j.jobId)?.mean ?? NaN)) < 1e-12);
  assert.ok(events.some((e) => e.type === 'notified'));
});

test('with no output in the config the export lands in ./outputs/<name>/<timestamp> of where start ran, with logs', async () => {
  const { store, env } = await setup();
  const config = workload({ name: 'default-out', models: 1, tasks: 1, samples: 12, salt: 'default-out' }, (c) => {
    delete c.output;
    c.models[0].provider.permanentErrorRate = 0.3;
    c.failOnError = false;
  });
  const cwd = mkdtempSync(join(tmpdir(), 'evalctl-cwd-'));
  const res = await runCli(['start', config, '--json'], { env, cwd });
  assert.equal(res.code, 0, res.stderr);
  const id = (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
  assert.equal((await runCli(['watch', id], { env, timeoutMs: 300_000 })).code, 0);
  const events = await finalized(store, id);
  const doc = await store.assignments.findOne({ _id: id });
  const out = join(cwd, 'outputs', 'default-out', doc!.createdAt.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z'));
  assert.equal(events.find((e) => e.type === 'exported')?.data?.dir, out);
  for (const rel of ['configs/assignment.json', 'predictions/model0/task0.jsonl', 'results/model0/task0.json', 'summary.md', 'logs/events.log']) {
    assert.ok(existsSync(join(out, rel)), rel);
  }
  const log = readFileSync(join(out, 'logs', 'model0', 'task0.log'), 'utf8').trim().split('\n');
  assert.equal(log.length, 12);
  const failed = (await store.samples.find({ assignmentId: id, status: 'failed' }).toArray()).map((x) => x.index);
  assert.ok(failed.length > 0, 'the workload has failed samples');
  for (const i of failed) assert.match(log.find((l) => l.includes(`model0/task0 #${i} (s${i})`)) ?? '', /failed {2}attempts=1 {2}EvalProviderPermanent: simulated permanent error/);
  assert.match(log.find((l) => / succeeded /.test(l)) ?? '', /worker=\S+ attempts=1 latencyMs=\d+/);
  assert.match(readFileSync(join(out, 'logs', 'events.log'), 'utf8'), new RegExp(`${id} {2}started`));
});

/** Failed samples keep their record: sample id, input, target, error type and the attempts made. */
function checkFailedRecords(rows: string[][]): void {
  const col = (name: string): number => rows[0].indexOf(name);
  const failed = rows.slice(1).filter((r) => r[col('status')] === 'failed');
  assert.ok(failed.length > 0, 'the workload has failed samples');
  for (const r of failed) {
    const index = Number(r[col('index')]);
    assert.equal(r[col('sampleId')], `s${index}`);
    assert.match(r[col('input')], new RegExp(`what is ${index} \\+ \\d\\?`));
    assert.equal(r[col('target')], String(index + Number(r[col('task')].replace('task', ''))));
    assert.equal(r[col('errorType')], 'EvalProviderPermanent');
    assert.equal(r[col('attempts')], '1', 'a permanent error is not retried');
  }
}

async function checkExport(s: Store, id: string, out: string): Promise<void> {
  const doc = await s.assignments.findOne({ _id: id });
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'configs', 'assignment.json'), 'utf8')), doc?.config);
  assert.deepEqual(parse(readFileSync(join(out, 'configs', 'assignment.yaml'), 'utf8')), doc?.config);
  for (const job of await s.jobs.find({ assignmentId: id }).toArray()) {
    const lines = readFileSync(join(out, 'predictions', job.modelId, `${job.taskId}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sampleKey: string; status: string; prediction: string | null; score: number | null; index: number });
    assert.equal(lines.length, job.counts.total);
    const results = new Map((await s.results.find({ _id: { $in: lines.map((l) => l.sampleKey) } }).toArray()).map((r) => [r._id, r]));
    for (const l of lines) {
      const r = results.get(l.sampleKey);
      assert.equal(l.prediction, r?.prediction ?? null);
      assert.equal(l.score, r?.score?.value ?? null);
    }
    const file = JSON.parse(readFileSync(join(out, 'results', job.modelId, `${job.taskId}.json`), 'utf8')) as { counts: unknown; score: unknown };
    assert.deepEqual(file.counts, job.counts);
    assert.deepEqual(file.score, job.metrics?.score);
  }
  const csv = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'));
  assert.equal(csv.length, 3, 'header + 2 models');
  assert.match(readFileSync(join(out, 'summary.md'), 'utf8'), /\| model \| task0 \| task1 \|/);
}

/** Where an assignment stands, for a failure message: its stored status and events, and its workflows' histories. */
async function describeRun(s: Store, env: NodeJS.ProcessEnv, id: string): Promise<string> {
  const doc = await s.assignments.findOne({ _id: id });
  const events = await s.events.find({ assignmentId: id }).sort({ at: 1 }).toArray();
  const t = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    const lines = [`status: ${doc?.status} counts: ${JSON.stringify(doc?.counts)}`, `events: ${events.map((e) => `${e.type}@${e.at.toISOString()}`).join(' ')}`];
    for (const wf of [doc?.workflowId ?? '', `evalctl/${id}/job/model0/task0`]) {
      const handle = t.client.workflow.getHandle(wf);
      const status = await handle.describe().then((d) => d.status.name, (e: unknown) => String(e));
      const history = await handle.fetchHistory().catch(() => ({ events: [] }));
      lines.push(`${wf} ${status}: ${(history.events ?? []).map((e) => String(e.eventType).replace('EVENT_TYPE_', '')).join(' ')}`);
    }
    lines.push((await runCli(['status', id], { env })).stdout);
    return `${lines.join('\n')}\n`;
  } finally {
    await t.close();
  }
}

test('failed and canceled endings notify webhook, slack and lark with their formats; events --follow ends with the log', async () => {
  const { store, env } = await setup();
  const failing = workload({ name: 'notify-failed', models: 1, tasks: 1, samples: 20, salt: 'nf' }, (c) => {
    c.models[0].provider.permanentErrorRate = 0.5;
    c.failOnError = true;
    c.notify = ['webhook', 'slack', 'lark'].map((kind) => ({ kind, url: `${hookBase}/${kind}`, on: ['failed'] }));
  });
  const failedId = await startAssignment(env, failing);
  assert.equal((await runCli(['watch', failedId], { env, timeoutMs: 300_000 })).code, 1);
  await finalized(store, failedId);
  const mine = (path: string) => received.find((r) => r.path === path && JSON.stringify(r.body).includes(failedId));
  const hook = await waitFor(() => mine('/webhook'), { message: 'the failed webhook' });
  assert.equal(hook.body.event, 'assignment.failed');
  assert.match(String(hook.body.error), /samples failed \(failOnError: true\)/);
  assert.ok(((hook.body.counts as { failed: number }).failed) > 0);
  assert.match(String(mine('/slack')?.body.text), /notify-failed failed/);
  assert.ok(Array.isArray(mine('/slack')?.body.blocks));
  assert.equal(mine('/lark')?.body.msg_type, 'post');

  const slow = workload({ name: 'notify-canceled', models: 1, tasks: 1, samples: 200, salt: 'nc', latencyMs: 200, concurrency: 2 }, (c) => {
    c.notify = [{ kind: 'webhook', url: `${hookBase}/canceled`, on: ['canceled'] }, { kind: 'webhook', url: `${hookBase}/never`, on: ['completed'] }];
  });
  const startedAt = Date.now();
  const canceledId = await startAssignment(env, slow);
  const follow = runCli(['events', canceledId, '--follow', '--json', '--interval-ms', '200'], { env, timeoutMs: 120_000 });
  await waitFor(() => readCallLog(callLog).some((e) => e.event === 'end' && e.t > startedAt), { timeoutMs: 60_000, message: 'calls to run' })
    .catch(async (err: unknown) => {
      process.stderr.write(await describeRun(store, env, canceledId));
      throw err;
    });
  const canceled = await runCli(['cancel', canceledId], { env });
  if (canceled.code !== 0) process.stderr.write(await describeRun(store, env, canceledId));
  assert.equal(canceled.code, 0, canceled.stderr);
  const followed = await follow.catch(async (err: unknown) => {
    process.stderr.write(await describeRun(store, env, canceledId));
    throw err;
  });
  assert.equal(followed.code, 0, followed.stderr);
  const types = followed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
  assert.ok(types.includes('canceled') && types.at(-1) === 'finalized', types.join(','));
  const hook2 = await waitFor(() => received.find((r) => r.path === '/canceled' && r.body.assignmentId === canceledId), { message: 'the canceled webhook' });
  assert.equal(hook2.body.status, 'canceled');
  assert.ok(!received.some((r) => r.path === '/never'), 'channels only hear the endings they chose');
});

test('with the receiver down the assignment still completes, quickly, and a notify-failed event is recorded', async () => {
  const { store, env } = await setup();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const config = workload({ name: 'notify-down', models: 1, tasks: 1, samples: 5, salt: 'down' }, (c) => {
    c.notify = [{ kind: 'webhook', url: `http://127.0.0.1:${port}/hook` }];
  });
  const id = await startAssignment(env, config);
  assert.equal((await runCli(['watch', id], { env, timeoutMs: 300_000 })).code, 0);
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'completed');
  const events = await finalized(store, id);
  const failed = events.find((e) => e.type === 'notify-failed');
  assert.ok(failed, events.map((e) => e.type).join(','));
  assert.match(String(failed.data?.error), /ECONNREFUSED/);
  assert.ok(Number(failed.data?.attempts) >= 2, 'retried');
  const ended = events.find((e) => e.type === 'completed');
  assert.ok(failed.at.getTime() - (ended?.at.getTime() ?? 0) <= 12_000, 'bounded delay');
  const listed = await runCli(['events', id], { env });
  assert.match(listed.stdout, /notify-failed/);
});

test('the leaderboard changes when a better run of a model completes', async () => {
  const { store, env } = await setup();
  const run = async (accuracy: number, seed: number, limit?: number): Promise<string> => {
    const config = workload({ name: `board-${seed}`, models: 1, tasks: 1, samples: 40, salt: 'board' }, (c) => {
      c.tasks[0].id = 'board-task';
      if (limit !== undefined) (c.tasks[0].dataset as Record<string, unknown>).limit = limit;
      c.models[0].provider.accuracy = accuracy;
      c.models[0].provider.seed = seed;
    });
    const id = await startAssignment(env, config);
    assert.equal((await runCli(['watch', id], { env, timeoutMs: 300_000 })).code, 0);
    await finalized(store, id);
    return id;
  };
  const board = async () => {
    const res = await runCli(['leaderboard', '--task', 'board-task', '--format', 'json'], { env });
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as Array<{ entries: Array<{ modelId: string; assignmentId: string; score: { mean: number; ci95: number[] } }> }>)[0].entries;
  };
  const weak = await run(0.2, 101);
  const first = await board();
  assert.deepEqual(first.map((e) => [e.modelId, e.assignmentId]), [['model0', weak]]);
  const strong = await run(0.95, 202);
  const second = await board();
  assert.deepEqual(second.map((e) => [e.modelId, e.assignmentId]), [['model0', strong]]);
  assert.ok(second[0].score.mean > first[0].score.mean, `${second[0].score.mean} > ${first[0].score.mean}`);
  const job = await store.jobs.findOne({ assignmentId: strong });
  assert.deepEqual(second[0].score.ci95, job?.metrics?.score?.ci95);
  const table = await runCli(['leaderboard', '--task', 'board-task'], { env });
  assert.match(table.stdout, /board-task \(exact, 40 samples, data [0-9a-f]{8}\)\n.*\n.*\n1\s+model0\s+0\.\d{3} \[/);

  // A smoke run of the same task with limit: 2 is another setup: its own board, the full run keeps its place.
  const smoke = await run(1, 303, 2);
  const res = await runCli(['leaderboard', '--task', 'board-task', '--format', 'json'], { env });
  const boards = JSON.parse(res.stdout) as Array<{ setup: string; entries: Array<{ assignmentId: string; score: { n: number } }> }>;
  assert.equal(boards.length, 2, res.stdout);
  assert.deepEqual(boards.map((b) => b.entries.map((e) => [e.assignmentId, e.score.n])), [[[smoke, 2]], [[strong, 40]]]);
  assert.match(boards[0].setup, /^exact, 2 samples \(limit 2\), data [0-9a-f]{8}$/);
});
