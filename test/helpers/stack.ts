import { after, before } from 'node:test';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StackOptions } from '../../src/dev/stack';
import { endpointsOf, stackDown, stackUp, startMongo, startTemporal, stopMongo, stopTemporal } from '../../src/dev/stack';
import { isAlive, killNow } from '../../src/dev/processes';
import { isPortFree } from '../../src/dev/net';
import { clearPartState, readStackState, stackPaths } from '../../src/dev/state';
import { waitFor } from './wait';
import type { Cluster } from '../../src/dev/cluster';
import { startCluster } from '../../src/dev/cluster';

/**
 * EVALCTL_TEST_CLUSTER=1 (set by `npm run test:cluster`) puts every test stack's Temporal side on the
 * production Temporal server with PostgreSQL, 4 history shards and SQL visibility (src/dev/cluster.ts)
 * instead of the dev server; MongoDB is the same as usual.
 */
export function clusterMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.EVALCTL_TEST_CLUSTER === '1';
}

/** Knobs for a private test stack; the defaults fit almost every test. */
export interface TestStackOptions {
  /** Database name in `mongoUrl`; default a fresh `evalctl_test_<random>`. */
  dbName?: string;
  /** Keep the temp data dir (databases and server logs) after stop(); also EVALCTL_KEEP_TEST_DATA=1. */
  keepDataDir?: boolean;
  /** Deadline for each server to answer; default 90 s. */
  startTimeoutMs?: number;
}

/** A running private stack: where it answers, and handles to stop it or to fail one part on purpose. */
export interface TestStack {
  temporalAddress: string;
  namespace: string;
  /** MongoDB URL naming this stack's own database. */
  mongoUrl: string;
  uiUrl: string;
  dataDir: string;
  /** Stops both servers, waits until they are gone and removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the Temporal server (the dev server, or the cluster's; its data stays) for fault tests. */
  stopTemporal(): Promise<void>;
  /** Restarts the Temporal server on the same ports and database. */
  startTemporal(): Promise<void>;
  /** Kills the Temporal server with SIGKILL (a crash: no graceful shutdown), waits until it is gone. */
  killTemporal(): Promise<void>;
  /** Stops the MongoDB-compatible server (its data stays); a no-op for an external EVALCTL_MONGO_URL. */
  stopMongo(): Promise<void>;
  /** Restarts the MongoDB-compatible server on the same port and data. */
  startMongo(): Promise<void>;
}

/** Puts a database name into a MongoDB URL, keeping hosts and query options (works for host lists). */
export function withDbName(url: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!m) throw new Error(`not a MongoDB URL: ${url}`);
  return `${m[1]}/${dbName}${m[2] ?? ''}`;
}

/** Kills whatever a stack still runs when the test process exits without stop() (a crash, a bail-out). */
function killOnExit(dataDir: string, extra: { kill?: () => void } = {}): () => void {
  const hook = (): void => {
    extra.kill?.();
    const s = readStackState(dataDir);
    if (s.temporal) killNow(s.temporal.pid);
    if (s.mongo?.pid !== undefined && s.mongo.kind !== 'external') killNow(s.mongo.pid);
  };
  // A test run stopped with Ctrl-C or a kill must not leave servers behind either.
  const onSignal = (signal: NodeJS.Signals): void => {
    hook();
    process.kill(process.pid, signal);
  };
  process.on('exit', hook);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', hook);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * Starts a private Temporal dev server and MongoDB-compatible server with the same code as `evalctl dev
 * up`, on free ports in a temp data dir (building the binaries on first use). Always pair it with stop(),
 * or use useTestStack() which does.
 */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'evalctl-test-'));
  const dbName = opts.dbName ?? `evalctl_test_${randomBytes(4).toString('hex')}`;
  if (clusterMode()) return startClusterTestStack(opts, dataDir, dbName);
  const base: StackOptions = { dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName, startTimeoutMs: opts.startTimeoutMs };
  const unhook = killOnExit(dataDir);
  let up;
  try {
    up = await stackUp(base);
  } catch (err) {
    await stackDown(dataDir).catch(() => undefined);
    unhook();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const t = up.state.temporal;
  const again: StackOptions = { ...base, temporalPort: t.port, uiPort: t.uiPort, mongoPort: up.state.mongo.port ?? 0 };
  let stopped = false;
  return {
    ...endpointsOf(up.state),
    mongoUrl: withDbName(up.mongoUrl, dbName),
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stackDown(dataDir);
      unhook();
      const keep = opts.keepDataDir || process.env.EVALCTL_KEEP_TEST_DATA === '1';
      if (keep) process.stderr.write(`test stack data kept in ${dataDir}\n`);
      else await rm(dataDir, { recursive: true, force: true });
    },
    stopTemporal: async () => void (await stopTemporal(dataDir)),
    killTemporal: async () => {
      const pid = readStackState(dataDir).temporal?.pid;
      if (pid === undefined) return;
      killNow(pid);
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 20, message: `Temporal (pid ${pid}) to die after SIGKILL` });
      await clearPartState(stackPaths(dataDir).temporalPid);
      // Clients reconnecting to a dead port in the ephemeral range can briefly hold it (a TCP self-connect);
      // the restart needs the same port, so wait until it is free again.
      await waitFor(() => isPortFree(again.temporalPort), { timeoutMs: 60_000, intervalMs: 100, message: `port ${again.temporalPort} to be free after the kill` });
    },
    startTemporal: async () => void (await startTemporal(again)),
    stopMongo: async () => void (await stopMongo(dataDir)),
    startMongo: async () => void (await startMongo(again)),
  };
}

/** The same stack with its Temporal side on the cluster (PostgreSQL + the Temporal server). */
async function startClusterTestStack(opts: TestStackOptions, dataDir: string, dbName: string): Promise<TestStack> {
  const base: StackOptions = { dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName, startTimeoutMs: opts.startTimeoutMs };
  const extra: { kill?: () => void } = {};
  const unhook = killOnExit(dataDir, extra);
  let cluster: Cluster | undefined;
  let mongoUrl: string;
  try {
    await chmod(dataDir, 0o755); // PostgreSQL runs as its own user under root and must reach its folder
    const mongo = await startMongo(base);
    mongoUrl = mongo.state.url;
    cluster = await startCluster({ dataDir: join(dataDir, 'cluster'), startTimeoutMs: opts.startTimeoutMs });
    extra.kill = cluster.killNow;
  } catch (err) {
    await stopMongo(dataDir).catch(() => undefined);
    unhook();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const c = cluster;
  let stopped = false;
  return {
    temporalAddress: c.temporalAddress,
    namespace: c.namespace,
    mongoUrl: withDbName(mongoUrl, dbName),
    // A production server has no embedded Web UI; links point at the frontend's HTTP API port instead.
    uiUrl: c.httpUrl,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await c.stop();
      await stopMongo(dataDir);
      unhook();
      const keep = opts.keepDataDir || process.env.EVALCTL_KEEP_TEST_DATA === '1';
      if (keep) process.stderr.write(`test stack data kept in ${dataDir}\n`);
      else await rm(dataDir, { recursive: true, force: true });
    },
    stopTemporal: () => c.stopTemporal(),
    killTemporal: () => c.killTemporal(),
    startTemporal: () => c.startTemporal(),
    stopMongo: async () => void (await stopMongo(dataDir)),
    startMongo: async () => void (await startMongo({ ...base, mongoPort: Number(new URL(mongoUrl).port) })),
  };
}

/**
 * Registers before/after hooks that start one private stack for the test file (or describe block) and
 * always stop it, even when tests fail. Returns a getter to call inside tests.
 */
export function useTestStack(opts: TestStackOptions = {}): () => TestStack {
  let stack: TestStack | undefined;
  before(async () => {
    stack = await startTestStack(opts);
  });
  after(async () => {
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error('the test stack is not running: call useTestStack() at the top of the file or of a describe()');
    return stack;
  };
}
