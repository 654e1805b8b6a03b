import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { setupNamespace } from '../temporal/setup';
import { freePort, isListening, isPortFree, LOCALHOST, pollUntil } from './net';
import { isAlive, killNow, logTail, spawnDetached, stopProcess } from './processes';
import { runCaptured } from './go';
import type { TemporalServerTools } from './temporal-server';
import { ensureTemporalServer } from './temporal-server';
import type { LogFn } from './tools';
import { stderrLog } from './tools';

/**
 * A production-shaped Temporal for tests and measurements: the Temporal server (not the dev server) on
 * PostgreSQL, with 4 history shards and SQL visibility, its schemas applied with the server's SQL tool and
 * the namespace prepared as `evalctl setup` does. No Web UI: a production server has none embedded.
 */

/** Where Debian's PostgreSQL 15 puts initdb, pg_ctl and postgres (scripts/ensure-postgresql.sh installs it). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** History shards of the cluster; fixed for the life of a database, and more than one so shards are exercised. */
export const CLUSTER_HISTORY_SHARDS = 4;

/** Raised when PostgreSQL, the schema tool or the server cannot be started; the message quotes the log. */
export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
}

/** How to start a cluster. */
export interface ClusterOptions {
  /** Empty or missing folder for PostgreSQL's data, the server config and the logs. */
  dataDir: string;
  namespace?: string;
  env?: NodeJS.ProcessEnv;
  log?: LogFn;
  startTimeoutMs?: number;
}

/** A running cluster: where it answers and handles to stop, restart or kill its Temporal server. */
export interface Cluster {
  temporalAddress: string;
  namespace: string;
  /** Frontend HTTP API (the dev server's Web UI port has no counterpart here). */
  httpUrl: string;
  postgresPort: number;
  /** Stops the Temporal server, then PostgreSQL. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the Temporal server politely (SIGTERM); PostgreSQL and the data stay. */
  stopTemporal(): Promise<void>;
  /** Kills the Temporal server with SIGKILL and waits until it is gone. */
  killTemporal(): Promise<void>;
  /** Starts the Temporal server again on the same ports and database. */
  startTemporal(): Promise<void>;
  /** Synchronous kill of everything, for process 'exit' hooks. */
  killNow(): void;
  /** Process ids of the Temporal server and of PostgreSQL's postmaster (its backends are its children). */
  pids(): { server?: number; postgres?: number };
}

/** PostgreSQL refuses to run as root; as root its programs run as the `postgres` user through runuser. */
function asPgUser(bin: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

async function pgRun(bin: string, args: string[], what: string, env: NodeJS.ProcessEnv): Promise<void> {
  const [cmd, argv] = asPgUser(join(PG_BIN_DIR, bin), args);
  const res = await runCaptured(cmd, argv, { env });
  if (res.code !== 0) throw new ClusterStartError(`${what} failed (${cmd} ${argv.join(' ')}):\n${(res.stderr || res.stdout).trim()}`);
}

/**
 * Creates a PostgreSQL data folder (`<pgRoot>/data`) with trust auth on loopback only; `pgRoot` (data, log
 * and socket) is owned by the user PostgreSQL runs as.
 */
async function initPostgres(pgRoot: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (!existsSync(join(PG_BIN_DIR, 'initdb'))) {
    throw new ClusterStartError(`PostgreSQL 15 is not installed (no ${PG_BIN_DIR}/initdb); run scripts/ensure-postgresql.sh as root (apt-get install postgresql-15)`);
  }
  await mkdir(pgRoot, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    const pg = pgIds();
    await chown(pgRoot, pg.uid, pg.gid);
  }
  const pgData = join(pgRoot, 'data');
  await pgRun('initdb', ['-D', pgData, '-U', 'temporal', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], 'initdb', env);
  return pgData;
}

function pgIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new ClusterStartError('running as root, but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql-15 creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function startPostgres(pgRoot: string, pgData: string, port: number, env: NodeJS.ProcessEnv): Promise<void> {
  // The socket goes beside the data folder (the default /var/run/postgresql may not exist); fsync off:
  // test data only, and a crash of the test machine loses nothing worth keeping.
  const opts = `-p ${port} -h ${LOCALHOST} -k ${pgRoot} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  await pgRun('pg_ctl', ['-D', pgData, '-l', join(pgRoot, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start'], 'starting PostgreSQL', env);
}

/** PID of the postmaster, from its pid file; undefined once it is gone. */
function postmasterPid(pgData: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Creates both databases and applies every versioned schema of the server's SQL tool to them. */
async function setupSchemas(tools: TemporalServerTools, port: number, log: LogFn, env: NodeJS.ProcessEnv): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', LOCALHOST, '-p', String(port), '-u', 'temporal', '--pw', 'temporal'];
  for (const [db, folder] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
    const steps = [
      ['create-database'],
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '-d', join(tools.schemaDir, 'postgresql', 'v12', folder, 'versioned')],
    ];
    for (const step of steps) {
      const args = [...base, '--db', db, ...step];
      const res = await runCaptured(tools.sqlTool, args, { env });
      if (res.code !== 0) throw new ClusterStartError(`temporal-sql-tool ${args.join(' ')} failed:\n${(res.stderr || res.stdout).trim().split('\n').slice(-10).join('\n')}`);
    }
    log(`evalctl: schema of ${db} set up`);
  }
}

/** The server's ports; fixed at first start so a restart answers where clients already connect. */
interface ServerPorts {
  frontend: number;
  http: number;
  history: number;
  matching: number;
  worker: number;
  membership: [number, number, number, number];
  metrics: number;
}

/**
 * A free port below 32768: the server stores membership ports in a PostgreSQL `smallint` column
 * (cluster_membership.rpc_port), so one from the ephemeral range (32768+) makes it exit at start.
 */
async function freeSmallPort(taken: number[]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.includes(port) && (await isPortFree(port))) return port;
  }
  throw new ClusterStartError('no free port between 20000 and 32000 for the Temporal server\'s membership');
}

async function pickServerPorts(): Promise<ServerPorts> {
  const p: number[] = [];
  for (let i = 0; i < 6; i++) p.push(await freePort());
  const m: number[] = [];
  for (let i = 0; i < 4; i++) m.push(await freeSmallPort(m));
  return { frontend: p[0]!, http: p[1]!, history: p[2]!, matching: p[3]!, worker: p[4]!, membership: [m[0]!, m[1]!, m[2]!, m[3]!], metrics: p[5]! };
}

/** The server config: the server's config/development-postgres12.yaml with 4 shards and free ports. */
export function serverConfig(pgPort: number, ports: ServerPorts, dynamicConfigFile: string): Record<string, unknown> {
  const sql = (databaseName: string, maxConns: number): Record<string, unknown> => ({
    sql: {
      pluginName: 'postgres12', databaseName, connectAddr: `${LOCALHOST}:${pgPort}`, connectProtocol: 'tcp',
      user: 'temporal', password: 'temporal', maxConns, maxIdleConns: maxConns, maxConnLifetime: '1h',
    },
  });
  const svc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default', visibilityStore: 'postgres-visibility', numHistoryShards: CLUSTER_HISTORY_SHARDS,
      datastores: { 'postgres-default': sql('temporal', 20), 'postgres-visibility': sql('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: LOCALHOST },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${LOCALHOST}:${ports.metrics}` } },
    },
    services: {
      frontend: svc(ports.frontend, ports.membership[0], { httpPort: ports.http }),
      history: svc(ports.history, ports.membership[1]),
      matching: svc(ports.matching, ports.membership[2]),
      worker: svc(ports.worker, ports.membership[3]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false, failoverVersionIncrement: 10, masterClusterName: 'active', currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${LOCALHOST}:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * Dynamic config: search attributes registered by `evalctl setup` are seen by the next request (the
 * default caches them up to a minute), and a new namespace is known to every service within a second.
 */
const DYNAMIC_CONFIG = {
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
  'system.namespaceCacheRefreshInterval': [{ value: '1s' }],
};

/** True once the frontend lists workflows by an evalctl search attribute: namespace and attributes are usable. */
async function namespaceUsable(address: string, namespace: string): Promise<true | undefined> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 2000 });
    const conn = connection;
    await conn.withDeadline(Date.now() + 3000, () => conn.workflowService.countWorkflowExecutions({ namespace, query: "EvalAssignment = 'ready-check'" }));
    return true;
  } catch {
    return undefined;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Creates the namespace and registers evalctl's search attributes, as `evalctl setup` does. */
async function prepareNamespace(address: string, namespace: string, timeoutMs: number): Promise<void> {
  // The frontend listens before its services have joined: connect (and set up) until it answers.
  await pollUntil(async () => {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 5000 });
      await setupNamespace(connection, { namespace, retentionDays: 1, timeoutMs });
      return true;
    } catch {
      return undefined;
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }, { timeoutMs, intervalMs: 500, what: `the Temporal server at ${address} to create namespace "${namespace}"` });
  await pollUntil(() => namespaceUsable(address, namespace), { timeoutMs, intervalMs: 250, what: `namespace "${namespace}" to accept evalctl's search attributes` });
}

/**
 * Starts PostgreSQL and the Temporal server in `dataDir` (building the server on first use), sets up the
 * schemas and the namespace, and returns once workflows can start. On failure everything started is stopped.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? stderrLog;
  const namespace = opts.namespace ?? 'default';
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const tools = await ensureTemporalServer({ env, log });
  await mkdir(opts.dataDir, { recursive: true });
  await chmod(opts.dataDir, 0o755); // PostgreSQL's user must reach its folder inside
  const pgRoot = join(opts.dataDir, 'postgres');
  const pgLog = join(pgRoot, 'postgres.log');
  const pgPort = await freePort();
  const pgData = await initPostgres(pgRoot, env);
  await startPostgres(pgRoot, pgData, pgPort, env);
  const parts: { serverPid?: number } = {};
  const killAll = (): void => {
    if (parts.serverPid !== undefined) killNow(parts.serverPid);
    const pg = postmasterPid(pgData);
    if (pg !== undefined) killNow(pg);
  };
  try {
    await setupSchemas(tools, pgPort, log, env);
    const ports = await pickServerPorts();
    const configFile = join(opts.dataDir, 'temporal-server.yaml');
    const dynamicFile = join(opts.dataDir, 'dynamicconfig.yaml');
    await writeFile(dynamicFile, stringify(DYNAMIC_CONFIG));
    await writeFile(configFile, stringify(serverConfig(pgPort, ports, dynamicFile)));
    const address = `${LOCALHOST}:${ports.frontend}`;
    const serverLog = join(opts.dataDir, 'temporal-server.log');
    const startServer = async (): Promise<void> => {
      parts.serverPid = await spawnDetached(tools.server, ['--config-file', configFile, '--allow-no-auth', 'start'], serverLog, opts.dataDir);
      const pid = parts.serverPid;
      const abort = (): void => {
        if (!isAlive(pid)) throw new ClusterStartError(`the Temporal server exited during start-up; see ${serverLog}:\n${logTail(serverLog)}`);
      };
      await pollUntil(async () => ((await isListening(ports.frontend)) ? true : undefined), { timeoutMs, intervalMs: 200, what: 'the Temporal server', abort });
    };
    const stopServer = async (kill: boolean): Promise<void> => {
      const pid = parts.serverPid;
      if (pid === undefined) return;
      if (kill) killNow(pid);
      await stopProcess(pid);
      parts.serverPid = undefined;
      // A client reconnecting to the dead port can briefly hold it (a TCP self-connect); a restart needs it.
      await pollUntil(async () => ((await isPortFree(ports.frontend)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 100, what: `port ${ports.frontend} to be free` });
    };
    await startServer();
    await prepareNamespace(address, namespace, timeoutMs);
    let stopped = false;
    return {
      temporalAddress: address, namespace, httpUrl: `http://${LOCALHOST}:${ports.http}`, postgresPort: pgPort,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopServer(false).catch(() => undefined);
        await stopPostgres(pgData, env);
      },
      stopTemporal: () => stopServer(false),
      killTemporal: () => stopServer(true),
      async startTemporal() {
        await startServer();
        await pollUntil(() => namespaceUsable(address, namespace), { timeoutMs, intervalMs: 250, what: 'the restarted Temporal server to serve the namespace' });
      },
      killNow: killAll,
      pids: () => ({ server: parts.serverPid, postgres: postmasterPid(pgData) }),
    };
  } catch (err) {
    if (parts.serverPid !== undefined) killNow(parts.serverPid);
    await stopPostgres(pgData, env).catch(() => undefined);
    if (err instanceof Error && !(err instanceof ClusterStartError)) err.message += `\n(PostgreSQL log: ${pgLog})`;
    throw err;
  }
}

/** Stops PostgreSQL with a fast shutdown (running transactions are rolled back), then makes sure it is gone. */
async function stopPostgres(pgData: string, env: NodeJS.ProcessEnv): Promise<void> {
  const pid = postmasterPid(pgData);
  if (pid === undefined || !isAlive(pid)) return;
  await pgRun('pg_ctl', ['-D', pgData, '-m', 'fast', '-w', '-t', '30', 'stop'], 'stopping PostgreSQL', env).catch(() => undefined);
  if (isAlive(pid)) await stopProcess(pid);
}
