import { mkdir } from 'node:fs/promises';
import { SEARCH_ATTRIBUTES } from '../contracts';
import { mongoReady, temporalReady, uiReady } from './health';
import { freePort, isPortFree, LOCALHOST, PortInUseError, pollUntil } from './net';
import { isOurProcess, logTail, spawnDetached, stopProcess } from './processes';
import type { MongoState, StackState, TemporalState } from './state';
import { clearPartState, readStackState, stackPaths, writePartState } from './state';
import type { LogFn } from './tools';
import { ensureTool, ensureTools, FERRETDB_TOOL, findOnPath, needsFerretdb, stderrLog, TEMPORAL_TOOL } from './tools';

/** The database evalctl uses when a URL names none. */
export const DEFAULT_DB_NAME = 'evalctl';

/** Ports `dev up` uses unless told otherwise; the same defaults the connection config assumes. */
export const DEFAULT_PORTS = { temporal: 7233, ui: 8233, mongo: 27017 } as const;

/** How to start a stack. A port of 0 means "any free port" (the test harness); a taken port is an error. */
export interface StackOptions {
  dataDir: string;
  temporalPort: number;
  uiPort: number;
  mongoPort: number;
  /** Database name put in the printed MongoDB URL. */
  dbName?: string;
  env?: NodeJS.ProcessEnv;
  log?: LogFn;
  startTimeoutMs?: number;
}

/** Where a running stack answers; what `dev up` prints and the harness hands to tests. */
export interface StackEndpoints {
  temporalAddress: string;
  namespace: string;
  uiUrl: string;
  mongoUrl: string;
}

/** Result of `up`: the endpoints, and which parts this call started (none when it was already running). */
export interface UpResult extends StackEndpoints {
  started: Array<'temporal' | 'mongo'>;
  alreadyRunning: boolean;
  state: Required<StackState>;
}

/** True when the recorded Temporal server is still the process we started. */
export function temporalAlive(s: TemporalState | undefined): s is TemporalState {
  return !!s && isOurProcess(s.pid, s.bin);
}

/** True when the recorded MongoDB side is usable without starting anything (external URLs always are). */
export function mongoAlive(s: MongoState | undefined): s is MongoState {
  if (!s) return false;
  if (s.kind === 'external') return true;
  return s.pid !== undefined && s.bin !== undefined && isOurProcess(s.pid, s.bin);
}

/** Endpoints of a recorded stack. */
export function endpointsOf(state: Required<StackState>): StackEndpoints {
  const t = state.temporal;
  return { temporalAddress: `${LOCALHOST}:${t.port}`, namespace: t.namespace, uiUrl: `http://${LOCALHOST}:${t.uiPort}`, mongoUrl: state.mongo.url };
}

async function pickPort(requested: number, purpose: string, flag: string): Promise<number> {
  if (requested === 0) return freePort();
  if (!(await isPortFree(requested))) throw new PortInUseError(requested, purpose, flag);
  return requested;
}

/**
 * Arguments of `temporal server start-dev`: SQLite in WAL mode, evalctl's search attributes, quiet logs.
 * The `default` namespace always exists, so it is not passed (`--namespace` would create extra ones).
 */
export function temporalArgs(s: Omit<TemporalState, 'pid' | 'bin' | 'startedAt'>, dbFile: string): string[] {
  const attrs = Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
  return [
    'server', 'start-dev',
    '--ip', LOCALHOST, '--ui-ip', LOCALHOST,
    '--port', String(s.port), '--ui-port', String(s.uiPort),
    '--http-port', String(s.httpPort), '--metrics-port', String(s.metricsPort),
    // WAL with synchronous=NORMAL: a crashed server loses nothing committed; only an OS crash could.
    '--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL',
    // A 64 MiB page cache (default 2 MiB) and temp tables in memory: measured in docs/performance.md.
    '--sqlite-pragma', 'cache_size=-65536', '--sqlite-pragma', 'temp_store=MEMORY',
    ...attrs,
    // The search attributes are registered at start, so the server need not re-read them from its database
    // on every start of a workflow that sets them (the dev server's default forces that read).
    '--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=false',
    '--log-level', 'warn', '--log-format', 'json',
  ];
}

/**
 * Starts the Temporal dev server unless the recorded one still runs, and waits until it answers with the
 * search attributes registered and the Web UI up. Pass the same ports again to restart on them.
 */
export async function startTemporal(opts: StackOptions): Promise<{ state: TemporalState; started: boolean }> {
  // The dev server binds its internal services to ports it picks itself at start; another process can
  // take one in between (seen with two test stacks starting at once). That start fails at once with
  // "address already in use", and a new start picks again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalOnce(opts);
    } catch (err) {
      if (attempt >= 3 || err instanceof PortInUseError || !(err instanceof Error) || !err.message.includes('address already in use')) throw err;
      opts.log?.(`the Temporal dev server lost a port to another process while starting; starting it again (${attempt + 1} of 3)`);
    }
  }
}

async function startTemporalOnce(opts: StackOptions): Promise<{ state: TemporalState; started: boolean }> {
  const paths = stackPaths(opts.dataDir);
  const existing = readStackState(opts.dataDir).temporal;
  if (temporalAlive(existing)) return { state: existing, started: false };
  const env = opts.env ?? process.env;
  const bin = await ensureTool(TEMPORAL_TOOL, { env, log: opts.log });
  const port = await pickPort(opts.temporalPort, 'Temporal frontend', '--temporal-port');
  const uiPort = await pickPort(opts.uiPort, 'Temporal Web UI', '--ui-port');
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const ports = { port, uiPort, httpPort, metricsPort, namespace: 'default' };
  await mkdir(opts.dataDir, { recursive: true });
  const pid = await spawnDetached(bin, temporalArgs(ports, paths.temporalDb), paths.temporalLog, opts.dataDir);
  const state: TemporalState = { pid, bin, ...ports, startedAt: new Date().toISOString() };
  await writePartState(paths.temporalPid, state);
  await waitOrStop(state.pid, bin, paths.temporalPid, paths.temporalLog, 'the Temporal dev server', opts, async () =>
    (await temporalReady(port, state.namespace)) && (await uiReady(uiPort)) ? true : undefined,
  );
  return { state, started: true };
}

/** Waits for a freshly started server; on failure stops it and forgets it, and the error quotes its log. */
async function waitOrStop(
  pid: number, bin: string, pidFile: string, logFile: string, what: string, opts: StackOptions,
  check: () => Promise<true | undefined>,
): Promise<void> {
  const abort = (): void => {
    if (!isOurProcess(pid, bin)) throw new Error(`${what} exited during start-up; see ${logFile}:\n${logTail(logFile)}`);
  };
  try {
    await pollUntil(check, { timeoutMs: opts.startTimeoutMs ?? 90_000, intervalMs: 200, what, abort });
  } catch (err) {
    await stopProcess(pid);
    await clearPartState(pidFile);
    if (err instanceof Error && !err.message.includes(logFile)) err.message += `; see ${logFile}:\n${logTail(logFile)}`;
    throw err;
  }
}

function mongoUrlFor(port: number, dbName: string): string {
  return `mongodb://${LOCALHOST}:${port}/${dbName}`;
}

/**
 * Makes the MongoDB side available: an EVALCTL_MONGO_URL is used as is (nothing started), else a `mongod`
 * on PATH, else FerretDB on SQLite in the data dir. Waits until it answers a ping.
 */
export async function startMongo(opts: StackOptions): Promise<{ state: MongoState; started: boolean }> {
  const paths = stackPaths(opts.dataDir);
  const env = opts.env ?? process.env;
  const existing = readStackState(opts.dataDir).mongo;
  if (mongoAlive(existing) && (existing.kind !== 'external' || existing.url === env.EVALCTL_MONGO_URL)) return { state: existing, started: false };
  await mkdir(opts.dataDir, { recursive: true });
  const now = new Date().toISOString();
  if (env.EVALCTL_MONGO_URL) {
    const state: MongoState = { kind: 'external', url: env.EVALCTL_MONGO_URL, startedAt: now };
    await pollUntil(async () => ((await mongoReady(state.url)) ? true : undefined), { timeoutMs: opts.startTimeoutMs ?? 30_000, what: `MongoDB at ${state.url}` });
    await writePartState(paths.mongoPid, state);
    return { state, started: false };
  }
  const port = await pickPort(opts.mongoPort, 'MongoDB', '--mongo-port');
  const mongod = findOnPath('mongod', env);
  const bin = mongod ?? (await ensureTool(FERRETDB_TOOL, { env, log: opts.log }));
  const args = mongod ? await mongodArgs(port, paths.mongodData) : await ferretArgs(port, paths.ferretData, paths.ferretState);
  const pid = await spawnDetached(bin, args, paths.mongoLog, opts.dataDir);
  const url = mongoUrlFor(port, opts.dbName ?? DEFAULT_DB_NAME);
  const state: MongoState = { kind: mongod ? 'mongod' : 'ferretdb', pid, bin, port, url, startedAt: now };
  await writePartState(paths.mongoPid, state);
  const check = async (): Promise<true | undefined> => ((await mongoReady(url)) ? true : undefined);
  await waitOrStop(pid, bin, paths.mongoPid, paths.mongoLog, state.kind, opts, check);
  return { state, started: true };
}

async function mongodArgs(port: number, dbPath: string): Promise<string[]> {
  await mkdir(dbPath, { recursive: true });
  return ['--dbpath', dbPath, '--port', String(port), '--bind_ip', LOCALHOST, '--quiet'];
}

/** FerretDB needs its SQLite directory to exist, and its debug HTTP port would otherwise clash at 8088. */
async function ferretArgs(port: number, dataDir: string, stateDir: string): Promise<string[]> {
  await mkdir(dataDir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  return [
    // FerretDB keeps WAL mode; synchronous=NORMAL drops an fsync per commit (safe against a process crash).
    '--handler=sqlite', `--sqlite-url=file:${dataDir}/?_pragma=synchronous(normal)`, `--state-dir=${stateDir}`,
    `--listen-addr=${LOCALHOST}:${port}`, `--debug-addr=${LOCALHOST}:${await freePort()}`,
    '--telemetry=disable', '--log-level=warn',
  ];
}

/** Refuses before starting anything when a part that must start has its requested port taken. */
async function checkPortsFirst(opts: StackOptions, state: StackState): Promise<void> {
  const wanted: Array<[number, string, string]> = [];
  if (!temporalAlive(state.temporal)) wanted.push([opts.temporalPort, 'Temporal frontend', '--temporal-port'], [opts.uiPort, 'Temporal Web UI', '--ui-port']);
  const env = opts.env ?? process.env;
  if (!mongoAlive(state.mongo) && !env.EVALCTL_MONGO_URL) wanted.push([opts.mongoPort, 'MongoDB', '--mongo-port']);
  for (const [port, purpose, flag] of wanted) {
    if (port !== 0 && !(await isPortFree(port))) throw new PortInUseError(port, purpose, flag);
  }
}

/** `dev up`: starts what is not running and returns once both parts answer; a running stack is left alone. */
export async function stackUp(opts: StackOptions): Promise<UpResult> {
  const log = opts.log ?? stderrLog;
  const before = readStackState(opts.dataDir);
  await checkPortsFirst(opts, before);
  // A first run fetches the Temporal CLI and builds FerretDB side by side instead of one after the other.
  const env = opts.env ?? process.env;
  if (!temporalAlive(before.temporal)) await ensureTools({ env, log, ferretdb: !mongoAlive(before.mongo) && needsFerretdb(env) });
  const mongo = await startMongo({ ...opts, log });
  let temporal: { state: TemporalState; started: boolean };
  try {
    temporal = await startTemporal({ ...opts, log });
  } catch (err) {
    if (mongo.started) await stopMongo(opts.dataDir);
    throw err;
  }
  const started = [...(temporal.started ? ['temporal' as const] : []), ...(mongo.started ? ['mongo' as const] : [])];
  const state = { temporal: temporal.state, mongo: mongo.state };
  return { ...endpointsOf(state), started, alreadyRunning: !temporal.started && !mongo.started, state };
}

/** Stops the recorded Temporal server (only if it is still ours) and waits until it is gone. */
export async function stopTemporal(dataDir: string): Promise<boolean> {
  const s = readStackState(dataDir).temporal;
  const wasOurs = temporalAlive(s);
  if (s && wasOurs) await stopProcess(s.pid);
  await clearPartState(stackPaths(dataDir).temporalPid);
  return wasOurs;
}

/** Stops the MongoDB server we started (never an external one) and waits until it is gone. */
export async function stopMongo(dataDir: string): Promise<boolean> {
  const s = readStackState(dataDir).mongo;
  const wasOurs = !!s && s.kind !== 'external' && mongoAlive(s);
  if (s?.pid !== undefined && wasOurs) await stopProcess(s.pid);
  await clearPartState(stackPaths(dataDir).mongoPid);
  return wasOurs;
}

/** `dev down`: stops exactly what `up` recorded in the data dir; data files stay for the next `up`. */
export async function stackDown(dataDir: string): Promise<{ stopped: Array<'temporal' | 'mongo'> }> {
  const stopped: Array<'temporal' | 'mongo'> = [];
  if (await stopTemporal(dataDir)) stopped.push('temporal');
  if (await stopMongo(dataDir)) stopped.push('mongo');
  return { stopped };
}
