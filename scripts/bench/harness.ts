import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssignmentFile } from '../../src/config/load';
import { startAssignment } from '../../src/control/start';
import { startCluster, type Cluster } from '../../src/dev/cluster';
import { stackDown, stackUp, startMongo, stopMongo } from '../../src/dev/stack';
import { stackPaths } from '../../src/dev/state';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';

const ROOT = join(__dirname, '..', '..', '..');

/** A private stack for one benchmark: servers on free ports in a temp dir, and clients to them. */
export interface BenchStack {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  store: Store;
  temporal: TemporalHandle;
  /** Server processes to measure, by name. */
  serverPids: Record<string, number>;
  /** Server processes measured with all they fork (PostgreSQL's postmaster and its backends), by name. */
  serverTrees: Record<string, number>;
  /** Which Temporal side the stack runs: the CLI's dev server, or the server with PostgreSQL. */
  server: BenchServer;
  /** Stops everything started here and removes the data dir unless asked to keep it. */
  stop(keep?: boolean): Promise<void>;
}

/** `dev`: the Temporal CLI's dev server (SQLite, one shard); `cluster`: the Temporal server on PostgreSQL. */
export type BenchServer = 'dev' | 'cluster';

/**
 * Starts a private stack: a Temporal dev server and MongoDB-compatible server, as `npm run demo` does, or
 * with `cluster` the Temporal server with PostgreSQL, 4 history shards and SQL visibility (src/dev/cluster.ts).
 */
export async function startBenchStack(log: (line: string) => void, server: BenchServer = 'dev'): Promise<BenchStack> {
  if (server === 'cluster') return startClusterBenchStack(log);
  const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-bench-'));
  log(`starting a private stack in ${dataDir} (the first run builds the servers: minutes)`);
  const up = await stackUp({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'evalctl_bench', log });
  const env = { ...process.env, TEMPORAL_ADDRESS: up.temporalAddress, TEMPORAL_NAMESPACE: up.namespace, EVALCTL_MONGO_URL: up.mongoUrl };
  const store = await openStore(up.mongoUrl);
  const temporal = await connectTemporal({ temporalAddress: up.temporalAddress, temporalNamespace: up.namespace, mongoUrl: up.mongoUrl });
  const serverPids: Record<string, number> = { temporal: up.state.temporal.pid };
  if (up.state.mongo.pid !== undefined) serverPids[up.state.mongo.kind] = up.state.mongo.pid;
  return {
    dataDir, env, store, temporal, serverPids, serverTrees: {}, server,
    async stop(keep = false) {
      await Promise.allSettled([store.close(), temporal.close()]);
      await stackDown(dataDir);
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The cluster flavour of startBenchStack: MongoDB as usual, Temporal on the server with PostgreSQL. */
async function startClusterBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-bench-'));
  chmodSync(dataDir, 0o755); // PostgreSQL runs as its own user under root and must reach its folder
  log(`starting PostgreSQL and the Temporal server in ${dataDir} (the first run builds the server: half an hour)`);
  const mongo = await startMongo({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'evalctl_bench', log });
  let cluster: Cluster;
  try {
    cluster = await startCluster({ dataDir: join(dataDir, 'cluster'), log });
  } catch (err) {
    await stopMongo(dataDir);
    throw err;
  }
  const mongoUrl = withDb(mongo.state.url, 'evalctl_bench');
  const env = { ...process.env, TEMPORAL_ADDRESS: cluster.temporalAddress, TEMPORAL_NAMESPACE: cluster.namespace, EVALCTL_MONGO_URL: mongoUrl };
  const store = await openStore(mongoUrl);
  const temporal = await connectTemporal({ temporalAddress: cluster.temporalAddress, temporalNamespace: cluster.namespace, mongoUrl });
  const pids = cluster.pids();
  const serverPids: Record<string, number> = {};
  if (pids.server !== undefined) serverPids.temporal = pids.server;
  if (mongo.state.pid !== undefined) serverPids[mongo.state.kind] = mongo.state.pid;
  const serverTrees: Record<string, number> = pids.postgres !== undefined ? { postgres: pids.postgres } : {};
  return {
    dataDir, env, store, temporal, serverPids, serverTrees, server: 'cluster',
    async stop(keep = false) {
      await Promise.allSettled([store.close(), temporal.close()]);
      await cluster.stop();
      await stopMongo(dataDir);
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Puts a database name into a single-host MongoDB URL. */
function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
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
