import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GoToolchainError, goHelpMessage, requireGo, runCaptured } from './go';
import type { EnsureOptions, LogFn } from './tools';
import { stderrLog, toolsCacheRoot } from './tools';

/**
 * The production Temporal server (not the CLI's dev server) and its SQL schema tool, built from the
 * server's Go module into the tools cache for the cluster test stack. v1.32.0 is the server the Temporal
 * CLI 1.9.1 embeds; its module needs Go 1.26.8.
 */
export const TEMPORAL_SERVER_VERSION = '1.32.0';

/** The server module; its `schema/` folder holds the SQL schemas the SQL tool applies. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

/** The binaries of one server build and the schema folder of the same module version. */
export interface TemporalServerTools {
  /** `temporal-server` (from cmd/server). */
  server: string;
  /** `temporal-sql-tool` (from cmd/tools/sql). */
  sqlTool: string;
  /** The module's `schema/` folder in the Go module cache (read-only). */
  schemaDir: string;
  version: string;
}

/** Folder of a server build in the tools cache: `temporal-server-<version>/` with both binaries and build.log. */
export function temporalServerDir(version: string = TEMPORAL_SERVER_VERSION, root: string = toolsCacheRoot()): string {
  return join(root, `temporal-server-${version}`);
}

const BINARIES = [
  { pkg: 'cmd/server', built: 'server', name: 'temporal-server' },
  { pkg: 'cmd/tools/sql', built: 'sql', name: 'temporal-sql-tool' },
] as const;

/**
 * Returns the server, the SQL tool and the schema folder, building both binaries on first use (minutes;
 * Go's output goes to build.log beside them, the terminal gets a line at the start and one at the end).
 * A cached build is never rebuilt; binaries are written under temp names and renamed.
 */
export async function ensureTemporalServer(opts: EnsureOptions & { version?: string } = {}): Promise<TemporalServerTools> {
  const env = opts.env ?? process.env;
  const version = opts.version ?? TEMPORAL_SERVER_VERSION;
  const root = opts.cacheRoot ?? toolsCacheRoot(env);
  const log = opts.log ?? stderrLog;
  const dir = temporalServerDir(version, root);
  const [server, sqlTool] = BINARIES.map((b) => join(dir, b.name)) as [string, string];
  if (!existsSync(server) || !existsSync(sqlTool)) await buildServer(version, dir, env, log);
  return { server, sqlTool, schemaDir: await moduleSchemaDir(version, dir, env), version };
}

async function buildServer(version: string, dir: string, env: NodeJS.ProcessEnv, log: LogFn): Promise<void> {
  await requireGo(env);
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dirname(dir), '.build-temporal-server-'));
  const logFile = join(dir, 'build.log');
  const sink = createWriteStream(logFile);
  const started = Date.now();
  log(`evalctl: building the Temporal server ${version} and its SQL tool into ${dir} (first use only; takes many minutes; log: ${logFile})`);
  try {
    const args = ['install', ...BINARIES.map((b) => `${TEMPORAL_SERVER_MODULE}/${b.pkg}@v${version}`)];
    const res = await runCaptured('go', args, { cwd: work, env: { ...env, GOBIN: work }, onStderr: (s) => sink.write(s) });
    if (res.code !== 0) throw goFailed(`go ${args.join(' ')}`, res.stderr);
    for (const b of BINARIES) await rename(join(work, b.built), join(dir, b.name));
  } finally {
    await new Promise((resolve) => sink.end(resolve));
    await rm(work, { recursive: true, force: true });
  }
  log(`evalctl: built the Temporal server ${version} in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** The module's schema folder, from `go mod download -json` (already downloaded by the build: no network). */
async function moduleSchemaDir(version: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const mod = `${TEMPORAL_SERVER_MODULE}@v${version}`;
  const res = await runCaptured('go', ['mod', 'download', '-json', mod], { cwd, env });
  const dir = res.code === 0 ? (JSON.parse(res.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) throw goFailed(`go mod download -json ${mod}`, res.stderr || res.stdout);
  const schemaDir = join(dir, 'schema');
  if (!existsSync(schemaDir)) throw new GoToolchainError(`${mod} has no schema folder at ${schemaDir}`);
  return schemaDir;
}

function goFailed(what: string, stderr: string): GoToolchainError {
  const tail = stderr.trim().split('\n').slice(-15).join('\n');
  return new GoToolchainError(goHelpMessage(`${what} failed:\n${tail}`));
}
