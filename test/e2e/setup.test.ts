import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { openStore, type Store } from '../../src/store/store';
import { writeWorkload } from '../helpers/assignments';
import { repoRoot, runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';
import { stackEnv } from '../helpers/workers';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-setup-'));
let store: Store | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

after(async () => {
  for (const c of cleanups) await c();
  await store?.close();
});

test('start on a namespace without evalctl\'s search attributes says which are missing and names setup; setup fixes it, idempotently', async () => {
  const env = stackEnv(getStack(), { TEMPORAL_NAMESPACE: 'fresh-ns' });
  store ??= await openStore(getStack().mongoUrl);
  const config = writeWorkload(dir, { name: 'setup', models: 1, tasks: 1, samples: 2, salt: 'setup' });
  const refused = await runCli(['start', config], { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /namespace "fresh-ns" does not exist; run `evalctl setup`/);
  assert.equal(await store.assignments.countDocuments({ name: 'setup' }), 0, 'nothing written');
  const first = await runCli(['setup', '--retention', '2', '--json'], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(JSON.parse(first.stdout), { namespace: 'fresh-ns', createdNamespace: true, addedAttributes: ['EvalAssignment', 'EvalModel', 'EvalTask', 'EvalStatus'] });
  const again = await runCli(['setup'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /namespace fresh-ns exists; every evalctl search attribute was registered already/);
});

test('with only some attributes registered, start names the missing ones; an orchestrator waits for setup instead of exiting', async () => {
  const env = stackEnv(getStack(), { TEMPORAL_NAMESPACE: 'partial-ns' });
  const connection = await Connection.connect({ address: getStack().temporalAddress });
  cleanups.push(() => connection.close());
  await connection.workflowService.registerNamespace({ namespace: 'partial-ns', workflowExecutionRetentionPeriod: msToTs('1 day') });
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await waitFor(async () => {
    try {
      await connection.operatorService.addSearchAttributes({ namespace: 'partial-ns', searchAttributes: { EvalAssignment: keyword, EvalModel: keyword } });
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 30_000, message: 'the new namespace to take search attributes' });
  const config = writeWorkload(dir, { name: 'partial', models: 1, tasks: 1, samples: 2, salt: 'partial' });
  const refused = await runCli(['start', config], { env });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /namespace "partial-ns" lacks evalctl's search attributes EvalTask, EvalStatus; run `evalctl setup`/);
  const worker = spawn(process.execPath, [join(repoRoot(), 'bin', 'evalctl.js'), 'worker', 'all'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  worker.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  cleanups.push(() => void (worker.exitCode === null && worker.kill('SIGKILL')));
  await waitFor(() => /worker: waiting: namespace "partial-ns" lacks .*EvalTask, EvalStatus/.test(out), { timeoutMs: 60_000, message: 'the worker to say what it waits for' });
  assert.equal(worker.exitCode, null, 'the worker waits, it does not exit');
  assert.equal((await runCli(['setup'], { env })).code, 0);
  await waitFor(() => out.includes('worker ready'), { timeoutMs: 60_000, message: 'the worker to start once the namespace is ready' });
  const started = await runCli(['start', config, '--watch'], { env, timeoutMs: 120_000 });
  assert.equal(started.code, 0, started.stderr);
  worker.kill('SIGTERM');
  // With Temporal out of reach, status still shows what MongoDB knows, in seconds, and says why it is partial.
  const id = /^started (\S+)/m.exec(started.stdout)?.[1];
  assert.ok(id, started.stdout);
  const t0 = Date.now();
  const offline = await runCli(['status', id, '--json'], { env: { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });
  assert.equal(offline.code, 0, offline.stderr);
  assert.ok(Date.now() - t0 < 10_000, `status took ${Date.now() - t0} ms`);
  assert.match(offline.stderr, /warning: Temporal at 127\.0\.0\.1:1 is unreachable .*showing what MongoDB last stored/);
  const view = JSON.parse(offline.stdout) as { status: string; counts: { succeeded: number }; temporalUnreachable?: string };
  assert.equal(view.status, 'completed');
  assert.equal(view.counts.succeeded, 2);
  assert.match(view.temporalUnreachable ?? '', /unreachable/);
});
