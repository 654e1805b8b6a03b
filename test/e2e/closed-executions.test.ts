import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { runCli } from '../helpers/cli';
import { useTestStack, withDbName } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv } from '../helpers/workers';
import { readCallLog, writeWorkload } from '../helpers/assignments';

/**
 * MongoDB decides what is done: a sample whose earlier execution is closed in Temporal (its workflow id
 * is the sample key) but has no stored success is run again, and the job ends. Both tests loop forever
 * when a closed execution refuses the start and cannot be adopted.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-closed-'));
const stores: Store[] = [];

after(async () => {
  for (const s of stores) await s.close();
});

async function start(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const res = await runCli(['start', ...args, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
}

/** Waits (bounded) for the assignment to end; a run stuck in a loop is canceled so the stack can stop. */
async function ended(env: NodeJS.ProcessEnv, store: Store, id: string): Promise<{ status: string; counts: Record<string, number> }> {
  const done = ['completed', 'failed', 'canceled'];
  try {
    await waitFor(async () => done.includes((await store.assignments.findOne({ _id: id }))?.status ?? ''), { timeoutMs: 60_000, message: `assignment ${id} to end` });
  } catch (err) {
    await runCli(['cancel', id, '--wait', '0'], { env });
    throw err;
  }
  const status = JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { status: string; counts: Record<string, number> };
  return status;
}

test('start --mode infer, then --mode eval: the eval run scores every stored prediction and ends', async (t) => {
  const callLog = join(dir, 'stages-calls.jsonl');
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const store = await openStore(getStack().mongoUrl);
  stores.push(store);
  const worker = await startWorkerProcess(env);
  t.after(() => worker.kill('SIGKILL'));
  const config = writeWorkload(dir, { name: 'stages', models: 1, tasks: 1, samples: 12, salt: 'stages' });
  const inferred = await ended(env, store, await start(env, [config, '--mode', 'infer']));
  assert.equal(inferred.status, 'completed');
  assert.equal(inferred.counts.succeeded, 12);
  const calls = readCallLog(callLog).filter((e) => e.event === 'start').length;
  assert.equal(calls, 12);
  const id = await start(env, [config, '--mode', 'eval']);
  const scored = await ended(env, store, id);
  assert.equal(scored.status, 'completed');
  assert.equal(scored.counts.succeeded, 12);
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, calls, 'eval mode calls no model');
  const samples = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(samples.length, 12);
  assert.ok(samples.every((s) => s.status === 'succeeded' && typeof s.score === 'number'), 'every sample scored');
});

test('the same config against a fresh MongoDB database on the same Temporal: every sample runs again', async (t) => {
  const callLog = join(dir, 'fresh-calls.jsonl');
  const config = writeWorkload(dir, { name: 'fresh', models: 1, tasks: 1, samples: 12, salt: 'fresh' });
  const firstEnv = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const firstStore = await openStore(getStack().mongoUrl);
  stores.push(firstStore);
  const first = await startWorkerProcess(firstEnv);
  t.after(() => first.kill('SIGKILL'));
  const one = await ended(firstEnv, firstStore, await start(firstEnv, [config]));
  assert.equal(one.counts.succeeded, 12);
  await first.kill();
  const freshUrl = withDbName(getStack().mongoUrl, `${firstStore.db.databaseName}_fresh`);
  const env = { ...firstEnv, EVALCTL_MONGO_URL: freshUrl };
  const store = await openStore(freshUrl);
  stores.push(store);
  const second = await startWorkerProcess(env);
  t.after(() => second.kill('SIGKILL'));
  const two = await ended(env, store, await start(env, [config]));
  assert.equal(two.status, 'completed');
  assert.equal(two.counts.succeeded, 12, 'nothing is stored in the fresh database, so nothing is reused');
  assert.equal(readCallLog(callLog).filter((e) => e.event === 'start').length, 24, 'every sample called again');
  assert.equal(await store.results.countDocuments({ status: 'succeeded' }), 12);
});
