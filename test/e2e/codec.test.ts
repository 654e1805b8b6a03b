import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import { assignmentWorkflowId } from '../../src/contracts';
import { ENCRYPTED_ENCODING } from '../../src/temporal/codec';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';
import { runCli } from '../helpers/cli';
import { allExecutions } from '../helpers/inspect';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv } from '../helpers/workers';
import { writeWorkload } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-codec-'));
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const handles: TemporalHandle[] = [];

after(async () => {
  await Promise.allSettled(handles.map((h) => h.close()));
});

/**
 * Every payload anywhere in a decoded history (inputs, results, signals, markers, failures), with where it
 * is. Search attributes are left out: the server indexes them, so no codec may touch them (they hold ids
 * and statuses only, never data).
 */
function payloadsIn(value: unknown, at = '', out: Array<{ at: string; payload: Payload }> = []): Array<{ at: string; payload: Payload }> {
  if (value === null || typeof value !== 'object') return out;
  const v = value as { data?: unknown; metadata?: unknown };
  if (v.data instanceof Uint8Array && v.metadata !== null && typeof v.metadata === 'object') out.push({ at, payload: v as Payload });
  else for (const [k, child] of Object.entries(value)) if (k !== 'searchAttributes') payloadsIn(child, `${at}.${k}`, out);
  return out;
}

async function client(env: NodeJS.ProcessEnv): Promise<TemporalHandle> {
  const s = getStack();
  const h = await connectTemporal({ temporalAddress: s.temporalAddress, temporalNamespace: s.namespace, mongoUrl: s.mongoUrl }, env);
  handles.push(h);
  return h;
}

test('with EVALCTL_CODEC_KEY every history payload is encrypted; the CLI still shows everything; old keys still decrypt', async (t) => {
  const codecEnv = stackEnv(getStack(), { EVALCTL_CODEC_KEY: K1, EVALCTL_CODEC_KEY_ID: 'k1' });
  const worker = await startWorkerProcess(codecEnv);
  t.after(() => worker.kill('SIGKILL'));
  const config = writeWorkload(dir, { name: 'coded', models: 2, tasks: 1, samples: 20, salt: `codec-${K1.slice(0, 6)}`, concurrency: 4 });
  const started = await runCli(['start', config, '--json'], { env: codecEnv });
  assert.equal(started.code, 0, started.stderr);
  const id = (JSON.parse(started.stdout) as { assignmentId: string }).assignmentId;
  const watched = await runCli(['watch', id], { env: codecEnv, timeoutMs: 180_000 });
  assert.equal(watched.code, 0, watched.stderr);
  const status = await runCli(['status', id, '--json'], { env: codecEnv });
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { status: string; counts: { succeeded: number } }).counts.succeeded, 40);
  const report = await runCli(['report', id, '--format', 'json'], { env: codecEnv });
  assert.equal(report.code, 0, report.stderr);

  // Raw history, read by a client without the codec: nothing readable.
  const raw = await client({});
  const runs = await allExecutions(raw.client);
  assert.ok(runs.length >= 42, `${runs.length} workflows`);
  let checked = 0;
  for (const run of runs) {
    const history = await raw.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const { at, payload: p } of payloadsIn(history)) {
      // A local activity's marker carries the SDK core's own bookkeeping (activity type, seq, timing) as
      // json/plain, which no codec touches; its result is a separate, encrypted detail. No data of ours in it.
      if (/markerRecordedEventAttributes\.details\.data\./.test(at)) {
        assert.ok(!Buffer.from(p.data ?? []).toString('latin1').includes(id), `marker bookkeeping at ${at} holds no assignment data`);
        continue;
      }
      assert.equal(Buffer.from(p.metadata?.encoding ?? []).toString(), ENCRYPTED_ENCODING, `payload at ${at} in ${run.workflowId} is encrypted`);
      const data = Buffer.from(p.data ?? []).toString('latin1');
      // Ciphertext starts with a random IV, so its first byte may look like JSON; it never parses as JSON.
      assert.ok(!data.includes(id) && !data.includes('"assignmentId"') && !parsesAsJson(data), `payload in ${run.workflowId} is not plaintext JSON`);
      checked++;
    }
  }
  assert.ok(checked >= runs.length, `${checked} payloads checked`);
  await assert.rejects(raw.client.workflow.getHandle(assignmentWorkflowId(id)).result(), 'a client without the key cannot read the result');

  // After a rotation to k2, k1 stays listed as an old key: history written with k1 still decodes.
  const rotated = await client({ EVALCTL_CODEC_KEY: K2, EVALCTL_CODEC_KEY_ID: 'k2', EVALCTL_CODEC_OLD_KEYS: `k1:${K1}` });
  assert.ok(await rotated.client.workflow.getHandle(assignmentWorkflowId(id)).result() !== undefined);
  const onlyNew = await client({ EVALCTL_CODEC_KEY: K2, EVALCTL_CODEC_KEY_ID: 'k2' });
  await assert.rejects(onlyNew.client.workflow.getHandle(assignmentWorkflowId(id)).result(), /key "k1", which is not configured/);
  process.stderr.write(`codec: ${checked} payloads in ${runs.length} workflow histories, all encrypted; CLI status/report/watch fine with the key\n`);
});

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
