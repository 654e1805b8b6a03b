import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/store';
import { readCallLog, writeWorkload } from '../helpers/assignments';
import type { TestStack } from '../helpers/stack';
import { stackEnv } from '../helpers/workers';
import {
  audit, holdFault, lostInFlight, printFigures, progressOf, recoveryTime, startAssignment, waitForProgress, watchToEnd, WorkerFleet,
  type ScenarioFigures,
} from './harness';

/** What every scenario gets: the stack, a scratch dir and a name that salts sample keys. */
export interface ScenarioContext {
  t: TestContext;
  stack: TestStack;
  dir: string;
  name: string;
}

async function storeFor(ctx: ScenarioContext): Promise<Store> {
  const store = await openStore(ctx.stack.mongoUrl);
  ctx.t.after(() => store.close());
  return store;
}

/** A workload of `samples` samples over two simulated models, with a call log. */
function workload(ctx: ScenarioContext, samples: number, latency: { min: number; max: number }) {
  const callLog = join(ctx.dir, `${ctx.name}-calls.jsonl`);
  const env = stackEnv(ctx.stack, { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const config = writeWorkload(ctx.dir, {
    name: ctx.name, models: 2, tasks: 1, samples: samples / 2, salt: `${ctx.name}-${Date.now()}`,
    latencyMs: { distribution: 'uniform', ...latency }, concurrency: 16, global: 64,
  });
  return { callLog, env, config, total: samples };
}

/** Asserts the audit found nothing lost or repeated, and no failed sample. */
function assertClean(a: { lost: number; duplicates: number; failed: number; succeeded: number }, total: number): void {
  assert.equal(a.failed, 0, 'no sample failed');
  assert.equal(a.succeeded, total, 'every sample succeeded');
  assert.equal(a.lost, 0, 'no result lost');
  assert.equal(a.duplicates, 0, 'no stored sample called again');
}

/**
 * Scenario 1: SIGKILL the worker `kills` times at random moments of the run, restarting it each time. The
 * assignment completes with one result per sample, and model calls stay within samples plus the calls in
 * flight at each kill.
 */
export async function workerKills(ctx: ScenarioContext, samples: number, kills: number): Promise<ScenarioFigures> {
  const store = await storeFor(ctx);
  const w = workload(ctx, samples, { min: 20, max: 150 });
  const fleet = new WorkerFleet(w.env, ctx.t);
  await fleet.start();
  const id = await startAssignment(w.env, w.config);
  const killed: Array<{ at: number; pid: number }> = [];
  let longest = 0;
  for (let k = 1; k <= kills; k++) {
    // A random moment inside the k-th slice of the run, so kills land in planning-adjacent, mid and late phases.
    const slice = samples / (kills + 1);
    await waitForProgress(store, id, Math.floor(slice * (k - 1) + slice * (0.3 + 0.7 * Math.random())));
    const before = await progressOf(store, id);
    const kill = await fleet.kill();
    killed.push(kill);
    await fleet.start();
    longest = Math.max(longest, await recoveryTime(store, id, kill.at, before));
  }
  await watchToEnd(w.env, id);
  const log = readCallLog(w.callLog);
  const a = await audit(store, id, samples, log);
  assertClean(a, samples);
  const inFlight = await lostInFlight(store, log, killed);
  assert.ok(a.calls <= samples + inFlight, `model calls ${a.calls} <= ${samples} samples + ${inFlight} in flight at the kills`);
  return printFigures({
    scenario: `worker SIGKILL x${kills}`, runs: 1, faults: kills, samples, duplicates: a.duplicates, lost: a.lost, longestRecoveryMs: longest,
    notes: `model calls ${a.calls} = samples + ${a.calls - samples} re-run of ${inFlight} in flight at the kills`,
  });
}

/** Scenario 2: SIGKILL the Temporal dev server mid-run and restart it on the same database: the run completes. */
export async function temporalKill(ctx: ScenarioContext, samples: number): Promise<ScenarioFigures> {
  const store = await storeFor(ctx);
  const w = workload(ctx, samples, { min: 50, max: 200 });
  const fleet = new WorkerFleet(w.env, ctx.t);
  await fleet.start();
  const id = await startAssignment(w.env, w.config);
  await waitForProgress(store, id, Math.floor(samples * 0.4));
  const before = await progressOf(store, id);
  const at = Date.now();
  await ctx.stack.killTemporal();
  await ctx.stack.startTemporal();
  const restartedMs = Date.now() - at;
  const longest = await recoveryTime(store, id, at, before);
  await watchToEnd(w.env, id);
  const log = readCallLog(w.callLog);
  const a = await audit(store, id, samples, log);
  assertClean(a, samples);
  assert.ok(fleet.current && fleet.current.proc.exitCode === null, 'the worker survived the server crash and reconnected');
  return printFigures({
    scenario: 'Temporal dev server SIGKILL + restart', runs: 1, faults: 1, samples, duplicates: a.duplicates, lost: a.lost, longestRecoveryMs: longest,
    notes: `server back in ${(restartedMs / 1000).toFixed(1)} s; model calls ${a.calls}`,
  });
}

/** Scenario 3: stop the MongoDB-compatible server for `downMs` mid-run, then start it: no sample fails, all stored. */
export async function mongoOutage(ctx: ScenarioContext, samples: number, downMs: number): Promise<ScenarioFigures> {
  const store = await storeFor(ctx);
  const w = workload(ctx, samples, { min: 50, max: 250 });
  const fleet = new WorkerFleet(w.env, ctx.t);
  await fleet.start();
  const id = await startAssignment(w.env, w.config);
  await waitForProgress(store, id, Math.floor(samples * 0.3));
  const before = await progressOf(store, id);
  const at = Date.now();
  await ctx.stack.stopMongo();
  await holdFault(downMs);
  await ctx.stack.startMongo();
  const longest = await recoveryTime(store, id, at, before);
  await watchToEnd(w.env, id);
  const log = readCallLog(w.callLog);
  const a = await audit(store, id, samples, log);
  assertClean(a, samples);
  assert.ok(fleet.current && fleet.current.proc.exitCode === null, 'the worker survived the database outage');
  return printFigures({
    scenario: `MongoDB server stopped ${downMs / 1000} s`, runs: 1, faults: 1, samples, duplicates: a.duplicates, lost: a.lost, longestRecoveryMs: longest,
    notes: `outage ${(downMs / 1000).toFixed(0)} s, progress resumed ${((longest - downMs) / 1000).toFixed(1)} s after restart; model calls ${a.calls}`,
  });
}
