import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal } from '../../src/temporal/client';
import { INFERENCE_QUEUE, sampleWorkflowId } from '../../src/contracts';
import { runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { readCallLog, startsPerKey, writeWorkload } from '../helpers/assignments';

/**
 * The per-sample local path: the model call is a local activity of the sample workflow, on the shared
 * inference queue. A job that adopts an execution while its call runs sends a signal the workflow's task
 * cannot see until it completes; the server refuses a completion with unseen signals, so the call's record
 * is dropped and the task runs again. It must then use the result stored by the first attempt.
 */
const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-local-call-'));
const callLog = join(dir, 'calls.jsonl');
let worker: WorkerProcess | undefined;
let store: Store | undefined;

after(async () => {
  await worker?.kill();
  await store?.close();
});

async function start(env: NodeJS.ProcessEnv, config: string): Promise<string> {
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
}

async function finish(env: NodeJS.ProcessEnv, id: string): Promise<{ status: string; counts: Record<string, number> }> {
  await runCli(['watch', id], { env, timeoutMs: 120_000 });
  return JSON.parse((await runCli(['status', id, '--json'], { env })).stdout) as { status: string; counts: Record<string, number> };
}

test('a job adopting local-path executions while their calls run: one call per key, the adopter gets every outcome', async () => {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store = await openStore(getStack().mongoUrl);
  worker = await startWorkerProcess(env);
  const samples = 6;
  const a = writeWorkload(dir, { name: 'first', models: 1, tasks: 1, samples, salt: `local-${Date.now()}`, latencyMs: 4_000, concurrency: samples });
  // The second assignment has the same model and task under another name: the same sample keys.
  const config = parse(readFileSync(a, 'utf8')) as Record<string, unknown>;
  const b = join(dir, 'second.yaml');
  writeFileSync(b, stringify({ ...config, name: 'second' }));
  const idA = await start(env, a);
  await waitFor(() => readCallLog(callLog).filter((e) => e.event === 'start').length >= samples, { timeoutMs: 60_000, message: 'every call of the first assignment to start' });
  const idB = await start(env, b);
  const [endA, endB] = await Promise.all([finish(env, idA), finish(env, idB)]);
  assert.equal(endA.status, 'completed', JSON.stringify(endA.counts));
  assert.equal(endB.status, 'completed', JSON.stringify(endB.counts));
  assert.equal(endA.counts.succeeded, samples);
  assert.equal(endB.counts.succeeded + endB.counts.reused, samples);
  const records = await store.samples.find({ assignmentId: idB }).toArray();
  assert.equal(records.length, samples);
  assert.ok(records.every((r) => (r.status === 'succeeded' || r.status === 'reused') && typeof r.score === 'number'), JSON.stringify(records.map((r) => r.status)));
  const starts = startsPerKey(readCallLog(callLog));
  for (const r of records) assert.equal(starts.get(r.sampleKey), 1, `sample ${r.sampleKey} was called ${starts.get(r.sampleKey)} times`);
  // The executions ran on the inference queue with the call as a local activity, and some were adopted mid-call.
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    let adoptedMidCall = 0;
    for (const r of records) {
      const history = await temporal.client.workflow.getHandle(sampleWorkflowId(r.sampleKey)).fetchHistory();
      const events = history.events ?? [];
      assert.equal(events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name, INFERENCE_QUEUE);
      assert.ok(events.some((e) => e.markerRecordedEventAttributes), 'the call is a local activity (a marker)');
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'inferAndScore'), 'no activity task for the call');
      if (events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'addWaiter')) adoptedMidCall += 1;
    }
    assert.ok(adoptedMidCall > 0, 'at least one execution was adopted while its call ran');
  } finally {
    await temporal.close();
  }
});
