import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * What `dev up` started for the Temporal dev server, kept in the data dir so `down` and `status` (in
 * another process, later) find exactly those processes and ports.
 */
export interface TemporalState {
  pid: number;
  bin: string;
  port: number;
  uiPort: number;
  httpPort: number;
  metricsPort: number;
  namespace: string;
  startedAt: string;
}

/** The MongoDB side: a process we started (FerretDB or mongod) or an external URL we only use. */
export interface MongoState {
  kind: 'ferretdb' | 'mongod' | 'external';
  pid?: number;
  bin?: string;
  port?: number;
  url: string;
  startedAt: string;
}

/** Both parts of a stack as recorded in its data dir; a missing part was never started or was stopped. */
export interface StackState {
  temporal?: TemporalState;
  mongo?: MongoState;
}

/**
 * The data dir `dev up`, `down` and `status` share when none is given: one per user, like the fixed
 * default ports (`$EVALCTL_DEV_DIR`, else `$XDG_DATA_HOME/evalctl/dev`, else `~/.local/share/evalctl/dev`).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (env.EVALCTL_DEV_DIR) return resolve(env.EVALCTL_DEV_DIR);
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'share');
  return join(base, 'evalctl', 'dev');
}

/** Files of a stack inside its data dir, named in one place. */
export function stackPaths(dataDir: string): Record<'temporalPid' | 'mongoPid' | 'temporalLog' | 'mongoLog' | 'temporalDb' | 'ferretData' | 'ferretState' | 'mongodData', string> {
  return {
    temporalPid: join(dataDir, 'temporal.pid.json'),
    mongoPid: join(dataDir, 'mongo.pid.json'),
    temporalLog: join(dataDir, 'temporal.log'),
    mongoLog: join(dataDir, 'mongo.log'),
    temporalDb: join(dataDir, 'temporal.sqlite'),
    ferretData: join(dataDir, 'ferretdb'),
    ferretState: join(dataDir, 'ferretdb-state'),
    mongodData: join(dataDir, 'mongod'),
  };
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined; // a torn or hand-edited file means "not started by us"
  }
}

/** Reads what was started in the data dir. */
export function readStackState(dataDir: string): StackState {
  const p = stackPaths(dataDir);
  return { temporal: readJson<TemporalState>(p.temporalPid), mongo: readJson<MongoState>(p.mongoPid) };
}

/** Records one part atomically (temp file + rename), so a reader never sees half a pid file. */
export async function writePartState(file: string, state: TemporalState | MongoState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, file);
}

/** Forgets one part once its process is gone. */
export async function clearPartState(file: string): Promise<void> {
  await rm(file, { force: true });
}
