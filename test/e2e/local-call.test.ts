import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * is dropped and the task runs again. It must then use the result stored by the first attempt (one call
 * per key) and still record and signal the waiter.
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

test('a waiter added while a local call runs: one call per key, the waiter gets its record and its signal', async () => {
  const env = stackEnv(getStack(), { EVALCTL_SIMULATED_CALL_LOG: callLog });
  store = await openStore(getStack().mongoUrl);
  worker = await startWorkerProcess(env);
  const samples = 4;
  const config = writeWorkload(dir, { name: 'adopted', models: 1, tasks: 1, samples, salt: `local-${Date.now()}`, latencyMs: 4_000, concurrency: samples });
  const id = await start(env, config);
  const started = await waitFor(() => {
    const keys = [...startsPerKey(readCallLog(callLog)).keys()];
    return keys.length >= samples ? keys : undefined;
  }, { timeoutMs: 60_000, message: 'every call to start' });
  const temporal = await connectTemporal({ temporalAddress: getStack().temporalAddress, temporalNamespace: getStack().namespace, mongoUrl: getStack().mongoUrl });
  try {
    // What an adopting job sends (workflows/job-launch.ts), for a job that is not there: its signal is lost, its record is not.
    const adopter = `adopter-${Date.now()}`;
    await Promise.all(started.map((key, index) => temporal.client.workflow.getHandle(sampleWorkflowId(key)).signal('addWaiter', {
      jobWorkflowId: `evalctl/${adopter}/job`, assignmentId: adopter, jobId: 'm/t', index, modelId: 'm', taskId: 't',
    })));
    const end = await finish(env, id);
    assert.equal(end.status, 'completed', JSON.stringify(end.counts));
    assert.equal(end.counts.succeeded, samples);
    const starts = startsPerKey(readCallLog(callLog));
    for (const key of started) assert.equal(starts.get(key), 1, `sample ${key} was called ${starts.get(key)} times`);
    const records = await store.samples.find({ assignmentId: adopter }).toArray();
    assert.equal(records.length, samples, 'the waiter has a record per execution');
    assert.ok(records.every((r) => r.status === 'succeeded' && typeof r.score === 'number'), JSON.stringify(records.map((r) => r.status)));
    let refused = 0;
    for (const key of started) {
      const events = (await temporal.client.workflow.getHandle(sampleWorkflowId(key)).fetchHistory()).events ?? [];
      // On the inference queue, the call a local activity (a marker, no activity task), the waiter signalled.
      assert.equal(events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name, INFERENCE_QUEUE);
      assert.ok(events.some((e) => e.markerRecordedEventAttributes), 'the call is a local activity (a marker)');
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'inferAndScore'), 'no activity task for the call');
      const signalled = events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId === `evalctl/${adopter}/job`);
      assert.equal(signalled.length, 1, 'the waiter is signalled once');
      if (events.some((e) => e.workflowTaskFailedEventAttributes)) refused += 1;
    }
    // The signal came while the call ran: the completion was refused and the task ran again without calling.
    assert.ok(refused > 0, 'a workflow task completed during the call was refused and run again');
  } finally {
    await temporal.close();
  }
});
