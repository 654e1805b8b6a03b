import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssignmentFile } from '../../src/config/load';
import { startAssignment } from '../../src/control/start';
import { stackDown, stackUp, type UpResult } from '../../src/dev/stack';
import { stackPaths } from '../../src/dev/state';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';

const ROOT = join(__dirname, '..', '..', '..');

/** A private stack for one benchmark: servers on free ports in a temp dir, and clients to them. */
export interface BenchStack {
  up: UpResult;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  store: Store;
  temporal: TemporalHandle;
  /** Server processes to measure, by name. */
  serverPids: Record<string, number>;
  /** Stops everything started here and removes the data dir unless asked to keep it. */
  stop(keep?: boolean): Promise<void>;
}

/** Starts a private Temporal dev server and MongoDB-compatible server, as `npm run demo` does. */
export async function startBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-bench-'));
  log(`starting a private stack in ${dataDir} (the first run builds the servers: minutes)`);
  const up = await stackUp({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'evalctl_bench', log });
  const env = { ...process.env, TEMPORAL_ADDRESS: up.temporalAddress, TEMPORAL_NAMESPACE: up.namespace, EVALCTL_MONGO_URL: up.mongoUrl };
  const store = await openStore(up.mongoUrl);
  const temporal = await connectTemporal({ temporalAddress: up.temporalAddress, temporalNamespace: up.namespace, mongoUrl: up.mongoUrl });
  const serverPids: Record<string, number> = { temporal: up.state.temporal.pid };
  if (up.state.mongo.pid !== undefined) serverPids[up.state.mongo.kind] = up.state.mongo.pid;
  return {
    up, dataDir, env, store, temporal, serverPids,
    async stop(keep = false) {
      await Promise.allSettled([store.close(), temporal.close()]);
      await stackDown(dataDir);
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The Temporal dev server's log of a bench stack, for history warnings. */
export function temporalLogOf(stack: BenchStack): string {
  return stackPaths(stack.dataDir).temporalLog;
}

/** An all-in-one worker in its own process, so its memory and CPU can be measured apart. */
export interface WorkerProc {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `evalctl worker all --slots <slots>` against the stack and waits until it reports ready. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, slots: number, nodeArgs: string[] = []): Promise<WorkerProc> {
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'evalctl.js'), 'worker', 'all', '--slots', String(slots)], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not report ready within 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited (${code}) before it was ready:\n${out}`));
    });
  }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return {
    pid: proc.pid as number,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** When an assignment run started and ended, as seen by the client. */
export interface AssignmentRun {
  assignmentId: string;
  startedAt: number;
  closedAt: number;
  status: string;
}

/** Loads a config, starts its assignment and waits for the workflow to close. */
export async function runAssignment(stack: BenchStack, configPath: string, assignmentId: string): Promise<AssignmentRun> {
  const loaded = await loadAssignmentFile(configPath);
  const startedAt = Date.now();
  const started = await startAssignment(stack.store, stack.temporal, { config: loaded.config, sourcePath: loaded.sourcePath, assignmentId });
  const result = (await stack.temporal.client.workflow.getHandle(started.workflowId).result()) as { status: string };
  return { assignmentId, startedAt, closedAt: Date.now(), status: result.status };
}

/** A fresh temp directory for generated datasets and configs. */
export function workDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
