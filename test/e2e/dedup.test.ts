import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { assignmentWorkflowId } from '../../src/contracts';
import { repoRoot, runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, startsPerKey, writeWorkload } from '../helpers/assignments';
import { assertStoredTexts, searchIndexes } from '../helpers/digests';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-dedup-'));
const callLog = join(dir, 'calls.jsonl');
const flakyLog = join(dir, 'flaky-calls.jsonl');
const failList = join(dir, 'fail-list.txt');
let worker: WorkerProcess | undefined;
let store: Store | undefined;

after(async () => {
  await worker?.kill();
  await store?.close();
});

async function setup(): Promise<{ env: NodeJS.ProcessEnv; store: Store }> {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog, FLAKY_CALL_LOG: flakyLog, FLAKY_FAIL_LIST: failList });
  store ??= await openStore(getStack().mongoUrl);
  worker ??= await startWorkerProcess(env);
  return { env, store };
}

async function start(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const res = await runCli(['start', ...args, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
}

async function finish(env: NodeJS.ProcessEnv, id: string): Promise<{ assignmentId: string; status: string; counts: Record<string, number> }> {
  await runCli(['watch', id], { env, timeoutMs: 300_000 });
  return { assignmentId: id, ...(JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { status: string; counts: Record<string, number> }) };
}

function editConfig(path: string, edit: (c: Record<string, unknown>) => void, newPath: string): string {
  const config = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(newPath, stringify(config));
  return newPath;
}

test('the same config twice: the second run makes no model call and reuses every sample', async () => {
  const { env } = await setup();
  const config = writeWorkload(dir, { name: 'twice', models: 2, tasks: 1, samples: 30, salt: 'twice' });
  const first = await finish(env, await start(env, [config]));
  assert.equal(first.counts.succeeded, 60);
  const callsBefore = readCallLog(callLog).filter((e) => e.event === 'start').length;
  const second = await finish(env, await start(env, [config]));
  assert.equal(second.status, 'completed');
  assert.equal(second.counts.reused, 60);
  assert.equal(second.counts.succeeded, 0);
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, callsBefore, 'zero model calls');
  // The reused samples are searchable from the stored text digest, as the viewer searches them.
  const texts = await assertStoredTexts(store as Store, second.assignmentId, 'model1/task0');
  assert.deepEqual(searchIndexes(texts, 'twice task 0: what is 17 + 0?'), [17]);
});

test('--no-reuse (--force) calls the model for every sample again; eval and report modes refuse it', async () => {
  const { env } = await setup();
  const config = writeWorkload(dir, { name: 'fresh', models: 1, tasks: 1, samples: 10, salt: 'fresh' });
  const first = await finish(env, await start(env, [config]));
  assert.equal(first.counts.succeeded, 10);
  const preview = await runCli(['start', config, '--force', '--dry-run', '--json'], { env });
  assert.equal(preview.code, 0, preview.stderr);
  const plan = JSON.parse(preview.stdout) as { totals: { reused: number; executed: number } };
  assert.deepEqual([plan.totals.reused, plan.totals.executed], [0, 10]);
  const before = startsPerKey(readCallLog(callLog));
  const again = await finish(env, await start(env, [config, '--no-reuse']));
  assert.equal(again.status, 'completed');
  assert.deepEqual([again.counts.succeeded, again.counts.reused], [10, 0]);
  const after = startsPerKey(readCallLog(callLog));
  const called = [...after].filter(([key, n]) => n > (before.get(key) ?? 0));
  assert.equal(called.length, 10, 'one new model call per sample');
  const refused = await runCli(['start', config, '--no-reuse', '--mode', 'eval'], { env });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--no-reuse\/--force: --mode eval only reads stored results/);
});

test('two assignments sharing half their samples, started together: one model call per shared sample', async () => {
  const { env, store } = await setup();
  const a = writeWorkload(dir, { name: 'overlap-a', models: 1, tasks: 1, samples: 40, salt: 'overlap', latencyMs: 300, concurrency: 8 });
  // B: the same first 20 samples as A (same content, same keys), then 20 of its own.
  const bData = join(dir, 'overlap-b-task0.jsonl');
  const aLines = readFileSync(join(dir, 'overlap-a-task0.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 20);
  const own = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `b${i}`, question: `overlap only b: what is ${i} + 100?`, target: String(i + 100) }));
  writeFileSync(bData, `${[...aLines, ...own].join('\n')}\n`);
  const b = editConfig(a, (c) => {
    c.name = 'overlap-b';
    (c.tasks as Array<{ dataset: { path: string } }>)[0].dataset.path = bData;
  }, join(dir, 'overlap-b.yaml'));
  const [idA, idB] = await Promise.all([start(env, [a]), start(env, [b])]);
  const [endA, endB] = await Promise.all([finish(env, idA), finish(env, idB)]);
  assert.equal(endA.status, 'completed');
  assert.equal(endB.status, 'completed');
  assert.equal(endA.counts.succeeded + endA.counts.reused, 40);
  assert.equal(endB.counts.succeeded + endB.counts.reused, 40);
  const sharedKeys = (await store.samples.find({ assignmentId: idB }).toArray()).filter((s) => s.index < 20).map((s) => s.sampleKey);
  assert.equal(sharedKeys.length, 20);
  const starts = startsPerKey(readCallLog(callLog));
  for (const key of sharedKeys) assert.equal(starts.get(key), 1, `shared sample ${key} was called ${starts.get(key)} times`);
  const bResults = await store.samples.find({ assignmentId: idB }).toArray();
  assert.ok(bResults.every((s) => typeof s.score === 'number'), 'every sample of B has a score');
});

test('two tasks of one assignment with identical requests: one model call per key, both jobs record every sample', async () => {
  const { env, store } = await setup();
  // task1 is task0 under another name: same dataset, prompt and scorer, so the same sample keys; each
  // job adopts what the other runs.
  const config = editConfig(writeWorkload(dir, { name: 'twin', models: 1, tasks: 1, samples: 12, salt: 'twin', latencyMs: 300, concurrency: 4 }), (c) => {
    const tasks = c.tasks as Array<Record<string, unknown>>;
    tasks.push({ ...tasks[0], id: 'task1' });
  }, join(dir, 'twin-2.yaml'));
  const id = await start(env, [config]);
  const end = await finish(env, id);
  assert.equal(end.status, 'completed', JSON.stringify(end.counts));
  const records = await store.samples.find({ assignmentId: id }).toArray();
  for (const taskId of ['task0', 'task1']) {
    // Adopted samples' records carry no text of their own: finalisation took it from their results.
    assert.deepEqual(searchIndexes(await assertStoredTexts(store, id, `model0/${taskId}`), 'twin task 0: what is 5 + 0?'), [5]);
    // Each job's records name its own task (an adopter's records are written by the other task's execution).
    const own = records.filter((r) => r.jobId === `model0/${taskId}`);
    assert.equal(own.length, 12, `${taskId} has a record per sample`);
    assert.ok(own.every((r) => r.taskId === taskId), `${taskId}: records name ${JSON.stringify(own.map((r) => r.taskId))}`);
    // A sample the other job had finished before this one planned it is reused (done before), else succeeded.
    assert.ok(own.every((r) => (r.status === 'succeeded' || r.status === 'reused') && typeof r.score === 'number'), `${taskId}: ${JSON.stringify(own.map((r) => r.status))}`);
  }
  assert.equal(end.counts.succeeded + end.counts.reused, 24, JSON.stringify(end.counts));
  assert.equal(end.counts.canceled, 0);
  const scoreOf = (taskId: string) => new Map(records.filter((r) => r.jobId === `model0/${taskId}`).map((r) => [r.sampleKey, r.score]));
  assert.deepEqual(scoreOf('task1'), scoreOf('task0'), 'both jobs hold the same result per key');
  const starts = startsPerKey(readCallLog(callLog));
  const keys = [...scoreOf('task0').keys()];
  assert.equal(keys.length, 12);
  for (const key of keys) assert.equal(starts.get(key), 1, `sample ${key} was called ${starts.get(key)} times`);
});

test('failed samples, then the model fixed: evalctl retry runs exactly the failed ones', async () => {
  const { env, store } = await setup();
  const fixture = join(repoRoot(), 'dist', 'test', 'fixtures', 'flaky-model.js');
  const config = editConfig(writeWorkload(dir, { name: 'flaky', models: 1, tasks: 1, samples: 20, salt: 'flaky' }), (c) => {
    (c.models as Array<Record<string, unknown>>)[0].provider = { kind: 'command', command: [process.execPath, fixture] };
    c.retry = { maxAttempts: 2, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 200 };
  }, join(dir, 'flaky.yaml'));
  writeFileSync(failList, ['what is 3 + 0?', 'what is 7 + 0?', 'what is 11 + 0?'].join('\n'));
  const id = await start(env, [config]);
  const watched = await runCli(['watch', id], { env, timeoutMs: 300_000 });
  assert.equal(watched.code, 1, 'more failed samples than failOnError allows: watch exits 1');
  assert.match(watched.stderr, /3 of 20 samples failed \(failOnError: 0\.05\)/);
  assert.match(watched.stderr, /score \d\.\d{3} \[[^\]]+\] n=17\/20 \(3 failed\)/, 'the ending says what the score covers');
  const first = await finish(env, id);
  assert.equal(first.status, 'failed', 'by default more than 5% failed samples fail the run');
  assert.equal(first.counts.failed, 3);
  assert.equal(first.counts.succeeded, 17);
  const failedKeys = new Set((await store.samples.find({ assignmentId: id, status: 'failed' }).toArray()).map((s) => s.sampleKey));
  writeFileSync(failList, '');
  const before = readCallLog(flakyLog).length;
  const retried = await runCli(['retry', id, '--json'], { env });
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal((JSON.parse(retried.stdout) as { toRetry: number }).toRetry, 3);
  const second = await finish(env, id);
  assert.equal(second.status, 'completed');
  assert.equal(second.counts.succeeded, 20);
  assert.equal(second.counts.failed, 0);
  const retryCalls = readCallLog(flakyLog).slice(before) as unknown as Array<{ sampleKey: string }>;
  assert.deepEqual(new Set(retryCalls.map((c) => c.sampleKey)), failedKeys, 'exactly the failed samples were called again');
  assert.equal(retryCalls.length, 3);
  const again = await runCli(['retry', id], { env });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /nothing to retry/);
});

test('--mode eval with a changed scorer: new scores from stored predictions, zero model calls', async () => {
  const { env, store } = await setup();
  const config = writeWorkload(dir, { name: 'rescore', models: 1, tasks: 1, samples: 25, salt: 'rescore', accuracy: 0.5 });
  const first = await start(env, [config]);
  assert.equal((await finish(env, first)).counts.succeeded, 25);
  const changed = editConfig(config, (c) => {
    (c.tasks as Array<Record<string, unknown>>)[0].scorer = { kind: 'numeric', absTolerance: 10 };
  }, join(dir, 'rescore-numeric.yaml'));
  const callsBefore = readCallLog(callLog).filter((e) => e.event === 'start').length;
  const second = await start(env, [changed, '--mode', 'eval']);
  const end = await finish(env, second);
  assert.equal(end.status, 'completed');
  assert.equal(end.counts.succeeded, 25);
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, callsBefore, 'no model call in eval mode');
  const oldScores = await store.samples.find({ assignmentId: first }).sort({ index: 1 }).toArray();
  const newScores = await store.samples.find({ assignmentId: second }).sort({ index: 1 }).toArray();
  assert.notDeepEqual(newScores.map((s) => s.sampleKey), oldScores.map((s) => s.sampleKey), 'a new scorer means new sample keys');
  // Simulated wrong answers are off by 1 to 9: a tolerance of 10 turns every wrong number right.
  const gained = newScores.filter((s, i) => s.score === 1 && oldScores[i].score === 0).length;
  assert.ok(gained > 0, 'the numeric scorer with tolerance accepts some answers exact match rejected');
  assert.ok(newScores.every((s, i) => !(oldScores[i].score === 1 && s.score === 0)), 'right answers stay right');
});

test('start --dry-run counts match what the real run then does', async () => {
  const { env } = await setup();
  const seedConfig = writeWorkload(dir, { name: 'dry', models: 1, tasks: 1, samples: 12, salt: 'dryrun' });
  await finish(env, await start(env, [seedConfig]));
  const bigger = writeWorkload(dir, { name: 'dry', models: 2, tasks: 1, samples: 18, salt: 'dryrun' });
  const preview = await runCli(['start', bigger, '--dry-run', '--json'], { env });
  assert.equal(preview.code, 0, preview.stderr);
  const plan = JSON.parse(preview.stdout) as { totals: { samples: number; reused: number; executed: number; adopted: number } };
  assert.deepEqual({ samples: plan.totals.samples, reused: plan.totals.reused, executed: plan.totals.executed, adopted: plan.totals.adopted }, { samples: 36, reused: 12, executed: 24, adopted: 0 });
  const end = await finish(env, await start(env, [bigger]));
  assert.equal(end.counts.reused, plan.totals.reused);
  assert.equal(end.counts.succeeded, plan.totals.executed);
});

test('sync repairs an assignment whose workflow was terminated behind its back', async () => {
  const { env, store } = await setup();
  const config = writeWorkload(dir, { name: 'orphan', models: 1, tasks: 1, samples: 50, salt: 'orphan', latencyMs: 5_000, concurrency: 2 });
  const id = await start(env, [config]);
  await waitFor(async () => (await store.assignments.findOne({ _id: id }))?.status === 'running', { timeoutMs: 60_000, message: 'the assignment to run' });
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    await temporal.client.workflow.getHandle(assignmentWorkflowId(id)).terminate('test: simulate a lost finalisation');
  } finally {
    await temporal.close();
  }
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'running', 'MongoDB still says running');
  const res = await runCli(['sync'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, new RegExp(`changed assignment ${id}: running -> failed \\(workflow terminated in Temporal\\)`));
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'failed');
  assert.match((await runCli(['sync'], { env })).stdout, /in sync: nothing to change/);
  // The counts are recounted from the sample records, never zeroed: what never ran counts as canceled.
  const synced = JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { counts: Record<string, number> };
  const recorded = await store.samples.countDocuments({ assignmentId: id, status: { $in: ['succeeded', 'reused'] } });
  assert.equal(synced.counts.total, 50);
  assert.equal(synced.counts.succeeded + synced.counts.reused, recorded);
  assert.equal(synced.counts.succeeded + synced.counts.reused + synced.counts.failed + synced.counts.canceled, 50);
  assert.ok(synced.counts.canceled > 0, JSON.stringify(synced.counts));
  // retry then runs the canceled samples again (cancelled at once here: they take 5 s each).
  const retried = await runCli(['retry', id, '--json'], { env });
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal((JSON.parse(retried.stdout) as { toRetry: number }).toRetry, synced.counts.failed + synced.counts.canceled);
  assert.equal((await runCli(['cancel', id], { env, timeoutMs: 120_000 })).code, 0);
});
