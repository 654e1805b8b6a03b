import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { jobWorkflowId } from '../../src/contracts';
import { runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { writeWorkload } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-scale-'));
let worker: WorkerProcess | undefined;
let store: Store | undefined;

after(async () => {
  await worker?.kill();
  await store?.close();
});

test('one job of 3,000 samples with a window of 50 continues as new and completes exactly', async () => {
  const env = stackEnv(getStack());
  worker = await startWorkerProcess(env);
  store = await openStore(getStack().mongoUrl);
  // Per sample on purpose (a window of 50 would run in batch fan-out by default): the job's continue-as-new is tested.
  // Each sample puts at least three events into the job's history (child initiated, started, outcome), so
  // 3,000 samples pass the job's 8,000-event limit (MAX_JOB_HISTORY_EVENTS in workflows/history.ts) at least once.
  const config = writeWorkload(dir, { name: 'big', models: 1, tasks: 1, samples: 3000, salt: 'big', concurrency: 50, extra: { fanout: 'per-sample' } });
  const res = await runCli(['start', config, '--json', '--id', 'big-job'], { env });
  assert.equal(res.code, 0, res.stderr);
  const end = await runCli(['watch', 'big-job'], { env, timeoutMs: 900_000 });
  assert.equal(end.code, 0, end.stderr);
  const status = JSON.parse((await runCli(['status', 'big-job', '--json'], { env })).stdout) as { status: string; counts: Record<string, number> };
  assert.equal(status.status, 'completed');
  assert.equal(status.counts.succeeded, 3000);
  assert.equal(await store.samples.countDocuments({ assignmentId: 'big-job' }), 3000);
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    const runs: string[] = [];
    const jobId = jobWorkflowId('big-job', 'model0', 'task0');
    for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${jobId}'` })) runs.push(wf.runId);
    assert.ok(runs.length > 1, `the job workflow continued as new (${runs.length} runs)`);
  } finally {
    await temporal.close();
  }
  const serverLog = readFileSync(join(getStack().dataDir, 'temporal.log'), 'utf8');
  assert.doesNotMatch(serverLog, /history (size|length) exceeds/i, 'no history warnings from the server');
  assert.doesNotMatch(worker.output(), /history (size|length)/i, 'no history warnings from the worker');
});
