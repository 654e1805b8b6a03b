import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { wilson } from '../../src/metrics';
import { openStore, type Store } from '../../src/store/store';
import { runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, writeWorkload } from '../helpers/assignments';

/**
 * Epochs end to end: a simulated model that is right half the time answers every sample twice, three tasks
 * reduce their epochs three ways, and the stored job scores equal the reductions worked out here by hand
 * from the per-epoch records. A second run calls the model for nothing.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-epochs-'));
const callLog = join(dir, 'calls.jsonl');
let store: Store | undefined;
let worker: WorkerProcess | undefined;

after(async () => {
  await worker?.kill();
  await store?.close();
});

const SAMPLES = 6;
const EPOCHS = 2;
const REDUCERS = { mean: 'mean', pass2: 'pass@2', majority: 'majority' } as const;

/** One workload task, copied three times with a reducer each (and its own prompt, so its own requests). */
function config(): string {
  const path = writeWorkload(dir, { name: 'epochs', models: 1, tasks: 1, samples: SAMPLES, salt: 'epochs', accuracy: 0.5 });
  const c = parse(readFileSync(path, 'utf8')) as { tasks: Array<Record<string, unknown>>; output?: unknown; failOnError?: unknown; epochs?: number };
  c.tasks = Object.entries(REDUCERS).map(([id, reducer]) => ({ ...c.tasks[0], id, reducer, prompt: `${String(c.tasks[0].prompt)} (${id})` }));
  c.epochs = EPOCHS;
  c.output = false;
  writeFileSync(path, stringify(c));
  return path;
}

test('epochs: 2 gives each epoch its own request, scores reduce per sample, and a re-run reuses every epoch', async () => {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const db: Store = await openStore(getStack().mongoUrl);
  store = db;
  worker = await startWorkerProcess(env);
  const path = config();
  const id = await startAssignment(env, path);
  assert.equal((await runCli(['watch', id], { env, timeoutMs: 120_000 })).code, 0);

  const calls = readCallLog(callLog).filter((e) => e.event === 'start');
  assert.equal(new Set(calls.map((e) => e.sampleKey)).size, 3 * SAMPLES * EPOCHS, 'one request per task, sample and epoch');
  assert.equal(calls.length, 3 * SAMPLES * EPOCHS, 'no request ran twice');
  const jobs = new Map((await db.jobs.find({ assignmentId: id }).toArray()).map((j) => [j.taskId, j]));
  let disagreed = 0;
  for (const task of Object.keys(REDUCERS)) {
    const records = await db.samples.find({ assignmentId: id, jobId: `model0/${task}` }).toArray();
    assert.equal(records.length, SAMPLES * EPOCHS);
    const verdicts = new Map<number, boolean[]>();
    for (const r of records) {
      assert.equal(r.epoch, Math.floor(r.index / SAMPLES) + 1, `record ${r.index} keeps its epoch`);
      const result = await db.results.findOne({ _id: r.sampleKey });
      assert.ok(result?.score, `result of ${r.sampleKey}`);
      assert.equal(result.epoch, r.epoch);
      verdicts.set(r.index % SAMPLES, [...(verdicts.get(r.index % SAMPLES) ?? []), result.score.passed === true]);
    }
    // By hand, for two epochs: mean is the share of right epochs, pass@2 "either epoch right", majority "both right".
    const both = [...verdicts.values()].filter((v) => v[0] && v[1]).length;
    const either = [...verdicts.values()].filter((v) => v[0] || v[1]).length;
    const right = [...verdicts.values()].reduce((sum, v) => sum + v.filter(Boolean).length, 0);
    disagreed += either - both;
    const score = jobs.get(task)?.metrics?.score;
    assert.deepEqual([score?.n, score?.samples, score?.epochs, score?.reducer], [SAMPLES, SAMPLES, EPOCHS, REDUCERS[task as keyof typeof REDUCERS]]);
    const expected = { mean: right / (EPOCHS * SAMPLES), pass2: either / SAMPLES, majority: both / SAMPLES }[task as keyof typeof REDUCERS];
    assert.ok(Math.abs((score?.mean ?? NaN) - expected) < 1e-12, `${task}: ${score?.mean} != ${expected}`);
    if (task !== 'mean') assert.deepEqual(score?.ci95, wilson(task === 'pass2' ? either : both, SAMPLES), 'the interval is over 6 samples, not 12 epochs');
  }
  assert.ok(disagreed > 0, 'the model answered some samples differently in their two epochs');

  const report = await runCli(['report', id], { env });
  assert.match(report.stdout, new RegExp(`n=${SAMPLES}/${SAMPLES}, pass@2 of 2 epochs`));

  const again = await startAssignment(env, path);
  assert.equal((await runCli(['watch', again], { env, timeoutMs: 120_000 })).code, 0);
  const doc = await db.assignments.findOne({ _id: again });
  assert.deepEqual([doc?.counts.reused, doc?.counts.succeeded], [3 * SAMPLES * EPOCHS, 0]);
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, calls.length, 'the re-run made no model call');
  const rerun = await db.jobs.findOne({ _id: `${again}/model0/pass2` });
  assert.equal(rerun?.metrics?.score?.mean, jobs.get('pass2')?.metrics?.score?.mean, 'the same reduced score from the reused epochs');
});
