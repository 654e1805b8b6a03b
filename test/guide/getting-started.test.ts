import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/dev/net';
import { runCli } from '../helpers/cli';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers';

/**
 * The paths docs/getting-started.md tells a new user to type, run as written (on free ports and a data dir
 * of the test's own, so a developer's `dev up` is left alone): `dev up`, `worker all` as a process of its own,
 * `validate`, `start configs/demo.yaml --watch`, `report`, `dev down`; and the agent demo the same way.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-getting-started-'));
const workers: WorkerProcess[] = [];
let env: NodeJS.ProcessEnv | undefined;

after(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
  if (env) await runCli(['dev', 'down', '--data-dir', dataDir], { env });
  rmSync(dataDir, { recursive: true, force: true });
});

async function devUp(): Promise<NodeJS.ProcessEnv> {
  const [temporal, ui, mongo] = [await freePort(), await freePort(), await freePort()];
  const base: NodeJS.ProcessEnv = { ...process.env, EVALCTL_DEV_DIR: dataDir };
  for (const k of ['TEMPORAL_ADDRESS', 'EVALCTL_MONGO_URL', 'EVALCTL_UI_URL']) delete base[k];
  const up = await runCli(['dev', 'up', '--temporal-port', String(temporal), '--ui-port', String(ui), '--mongo-port', String(mongo)], { env: base, timeoutMs: 300_000 });
  assert.equal(up.code, 0, up.stderr);
  return { ...base, TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`, EVALCTL_MONGO_URL: `mongodb://127.0.0.1:${mongo}/evalctl` };
}

/** `start <config> --watch` as typed: the assignment id is on its first line of stdout. */
async function startWatched(config: string): Promise<{ id: string; stderr: string }> {
  assert.ok(env);
  const res = await runCli(['start', config, '--watch'], { env, timeoutMs: 600_000 });
  assert.equal(res.code, 0, `start ${config} --watch: ${res.stderr.slice(-3000)}`);
  const id = /^started (\S+)/m.exec(res.stdout)?.[1];
  assert.ok(id, res.stdout);
  assert.doesNotMatch(res.stderr, /warning: no worker polls/, 'the worker started as the guide says serves every queue');
  assert.doesNotMatch(res.stderr, /No workflows registered/);
  return { id, stderr: res.stderr };
}

test('getting started: dev up, worker all, validate, start configs/demo.yaml --watch, report, dev down', async () => {
  env = await devUp();
  workers.push(await startWorkerProcess(env, 'all'));
  const validated = await runCli(['validate', 'configs/demo.yaml'], { env });
  assert.equal(validated.code, 0, validated.stderr);
  const { id } = await startWatched('configs/demo.yaml');
  const report = await runCli(['report', id], { env });
  assert.equal(report.code, 0, report.stderr);
  for (const job of ['sim-good', 'sim-flaky', 'arithmetic', 'capitals', 'multiple-choice', 'sentiment']) assert.match(report.stdout, new RegExp(job));
  const status = await runCli(['status', id, '--json'], { env });
  const view = JSON.parse(status.stdout) as { status: string; counts: { total: number; succeeded: number; reused: number } };
  assert.equal(view.status, 'completed');
  assert.equal(view.counts.total, 680);
});

test('the agent demo: worker all, worker task number-guess, start configs/agent-demo.yaml --watch, sessions', async () => {
  env ??= await devUp();
  if (workers.length === 0) workers.push(await startWorkerProcess(env, 'all'));
  workers.push(await startWorkerProcess(env, 'task', ['number-guess', '--capacity', '8']));
  const { id } = await startWatched('configs/agent-demo.yaml');
  const status = await runCli(['status', id, '--json'], { env });
  const view = JSON.parse(status.stdout) as { status: string; counts: { total: number; failed: number } };
  assert.equal(view.status, 'completed');
  assert.equal(view.counts.total, 20);
  const sessions = await runCli(['sessions', '--json'], { env });
  assert.equal(sessions.code, 0, sessions.stderr);
  const down = await runCli(['dev', 'down', '--data-dir', dataDir], { env });
  assert.equal(down.code, 0, down.stderr);
  env = undefined;
});
