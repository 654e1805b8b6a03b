import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Store } from '../../src/store/store';
import type { CallLogEntry } from '../../src/providers/call-log';
import { runCli } from '../helpers/cli';
import { waitFor } from '../helpers/wait';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workers';

/** The figures each fault scenario reports for the closing note. */
export interface ScenarioFigures {
  scenario: string;
  runs: number;
  faults: number;
  samples: number;
  duplicates: number;
  lost: number;
  /** Longest time from injecting a fault to the first sample stored after it ended. */
  longestRecoveryMs: number;
  notes?: string;
}

/** Prints one line per scenario on stderr (the runner shows it as a `#` line) and returns the figures. */
export function printFigures(f: ScenarioFigures): ScenarioFigures {
  const line = `chaos: ${f.scenario}: runs ${f.runs}, faults injected ${f.faults}, samples ${f.samples}, duplicates ${f.duplicates}, lost results ${f.lost}, `
    + `longest fault-to-recovery ${(f.longestRecoveryMs / 1000).toFixed(1)} s${f.notes ? ` (${f.notes})` : ''}`;
  process.stderr.write(`${line}\n`);
  return f;
}

/**
 * Worker processes a scenario starts, kills and restarts. Every process ever started is stopped by
 * t.after, even when the test fails, so none serves (and logs) the next test's calls.
 */
export class WorkerFleet {
  private readonly all: WorkerProcess[] = [];
  current: WorkerProcess | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    t: TestContext,
  ) {
    t.after(async () => {
      await Promise.all(this.all.map((w) => w.kill('SIGKILL')));
    });
  }

  /** Starts a worker and waits until it reports ready. */
  async start(): Promise<WorkerProcess> {
    const w = await startWorkerProcess(this.env);
    this.all.push(w);
    this.current = w;
    return w;
  }

  /** SIGKILLs the current worker; resolves to when it was killed and its pid. */
  async kill(): Promise<{ at: number; pid: number }> {
    const w = this.current;
    assert.ok(w, 'no worker to kill');
    const at = Date.now();
    await w.kill('SIGKILL');
    this.current = undefined;
    return { at, pid: w.proc.pid as number };
  }

  /** Output of every worker process, for searching logs. */
  output(): string {
    return this.all.map((w) => w.output()).join('\n');
  }
}

/** Starts an assignment with the CLI and returns its id. */
export async function startAssignment(env: NodeJS.ProcessEnv, config: string): Promise<string> {
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
}

/** Samples of an assignment that have ended (stored), read from MongoDB; throws while MongoDB is away. */
export async function progressOf(store: Store, assignmentId: string): Promise<number> {
  return store.samples.countDocuments({ assignmentId, status: { $in: ['succeeded', 'failed', 'reused'] } });
}

/** Waits until at least `count` samples have ended. */
export async function waitForProgress(store: Store, assignmentId: string, count: number, timeoutMs = 300_000): Promise<number> {
  return waitFor(async () => {
    const n = await progressOf(store, assignmentId);
    return n >= count ? n : undefined;
  }, { timeoutMs, intervalMs: 200, message: `${count} ended samples of ${assignmentId}` });
}

/**
 * Milliseconds from a fault's start until the first sample ends after the fault was removed: progress
 * beyond `before` (the count when the fault started), polled every 100 ms.
 */
export async function recoveryTime(store: Store, assignmentId: string, faultAt: number, before: number, timeoutMs = 300_000): Promise<number> {
  await waitFor(async () => (await progressOf(store, assignmentId)) > before, { timeoutMs, intervalMs: 100, message: `progress of ${assignmentId} after a fault` });
  return Date.now() - faultAt;
}

/** Follows an assignment to its end with `evalctl watch`; asserts it completed. */
export async function watchToEnd(env: NodeJS.ProcessEnv, assignmentId: string, timeoutMs = 900_000): Promise<void> {
  const res = await runCli(['watch', assignmentId], { env, timeoutMs });
  assert.equal(res.code, 0, `watch ${assignmentId}: ${res.stderr.slice(-2000)}`);
}

/** What an audit of a finished assignment found. */
export interface Audit {
  samples: number;
  succeeded: number;
  failed: number;
  /** Samples without a succeeded record or without a stored result. */
  lost: number;
  /** Model calls started for a sample after its result was stored, plus extra sample records. */
  duplicates: number;
  /** Model calls started in all (from the call log). */
  calls: number;
}

/**
 * Checks one result per sample and no re-execution of a stored sample: every sample of the assignment has a
 * succeeded record and a stored result, and no call for a key started after that key's result was stored.
 */
export async function audit(store: Store, assignmentId: string, expected: number, log: CallLogEntry[] = []): Promise<Audit> {
  const samples = await store.samples.find({ assignmentId }).toArray();
  const distinct = new Set(samples.map((s) => `${s.jobId}/${s.index}`));
  const keys = samples.map((s) => s.sampleKey);
  const results = await store.results.find({ _id: { $in: keys } }).toArray();
  const stored = new Map(results.filter((r) => r.status === 'succeeded').map((r) => [r._id, r.finishedAt.getTime()]));
  const succeeded = samples.filter((s) => s.status === 'succeeded').length;
  const lost = expected - samples.filter((s) => s.status === 'succeeded' && stored.has(s.sampleKey)).length;
  const starts = log.filter((e) => e.event === 'start');
  const again = starts.filter((e) => e.t > (stored.get(e.sampleKey) ?? Infinity)).length;
  return {
    samples: samples.length, succeeded, failed: samples.filter((s) => s.status === 'failed').length, lost,
    duplicates: again + (samples.length - distinct.size), calls: starts.length,
  };
}

/**
 * Calls lost with a killed worker: calls it started for samples not yet stored when it was killed (the call
 * may have ended, but its result died with the process). Model calls may exceed samples by this much.
 */
export async function lostInFlight(store: Store, log: CallLogEntry[], kills: Array<{ at: number; pid: number }>): Promise<number> {
  const keys = [...new Set(log.map((e) => e.sampleKey))];
  const results = await store.results.find({ _id: { $in: keys } }, { projection: { finishedAt: 1 } }).toArray();
  const storedAt = new Map(results.map((r) => [r._id, r.finishedAt.getTime()]));
  return kills.reduce((sum, k) => sum + log.filter((e) => e.event === 'start' && e.pid === k.pid && (storedAt.get(e.sampleKey) ?? Infinity) > k.at).length, 0);
}

/** Holds a fault for its specified length (the scenario's parameter, not a wait for a condition). */
export function holdFault(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
