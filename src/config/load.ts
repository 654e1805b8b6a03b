import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { INLINE_SCORERS } from '../plan/jobs';
import { AssignmentConfigSchema, passAtKOf } from './schema';
import type { AgentTaskConfig, AssignmentConfig } from './schema';
import { ConfigError, formatPath, MAX_ISSUES_SHOWN } from './errors';
import type { ConfigIssue, PathSegment } from './errors';
import { displayName, locate, readYamlSource } from './yaml-source';
import type { YamlSource } from './yaml-source';
import { plainIssues } from './zod-issues';

export { ConfigError, formatIssue } from './errors';
export type { ConfigIssue } from './errors';

/** An assignment ready to run: references expanded, defaults applied, dataset paths absolute. */
export interface LoadedAssignment {
  config: AssignmentConfig;
  /** The assignment file, or the config directory when built from `--models/--tasks`. */
  sourcePath: string;
}

/** Options of loading. */
export interface LoadOptions {
  /** Folder holding models/ and tasks/ for references; defaults to the assignment file's folder. */
  configDir?: string;
}

/** A file mounted at a path of the assembled config, so issues point into the file that holds them. */
interface Mount {
  prefix: PathSegment[];
  source: YamlSource;
}

class Context {
  readonly issues: ConfigIssue[] = [];
  readonly mounts: Mount[];
  constructor(
    root: YamlSource,
    readonly configDir: string,
  ) {
    this.mounts = [{ prefix: [], source: root }];
  }

  /** The file holding a path and the path inside it. */
  mountFor(at: readonly PathSegment[]): { source: YamlSource; docPath: PathSegment[] } {
    let best = this.mounts[0];
    for (const m of this.mounts) {
      if (m.prefix.length > best.prefix.length && m.prefix.every((seg, i) => at[i] === seg)) best = m;
    }
    return { source: best.source, docPath: at.slice(best.prefix.length) };
  }

  add(at: readonly PathSegment[], message: string, key?: string): void {
    const { source, docPath } = this.mountFor(at);
    const loc = key === undefined ? locate(source, docPath) : locate(source, docPath.slice(0, -1), key);
    this.issues.push({ file: source.display, line: loc.line, column: loc.column, path: formatPath(docPath), message });
  }
}

/**
 * Loads an assignment YAML file: parses it, expands named models and tasks from configDir, validates
 * everything with the zod schemas and resolves dataset paths. Throws ConfigError listing every issue.
 */
export async function loadAssignmentFile(file: string, opts: LoadOptions = {}): Promise<LoadedAssignment> {
  const source = await readYamlSource(file);
  const configDir = path.resolve(opts.configDir ?? path.dirname(source.absPath));
  const config = await assemble(source, configDir);
  return { config, sourcePath: source.absPath };
}

/** Builds an assignment from `--models a b --tasks x y`, with the same validation as a file. */
export async function buildAssignmentFromNames(input: {
  models: string[];
  tasks: string[];
  configDir: string;
  name?: string;
}): Promise<LoadedAssignment> {
  const configDir = path.resolve(input.configDir);
  const value = { name: input.name ?? 'adhoc', models: [...input.models], tasks: [...input.tasks] };
  const source: YamlSource = { absPath: configDir, display: '<command line>', value };
  const config = await assemble(source, configDir);
  return { config, sourcePath: configDir };
}

async function assemble(source: YamlSource, configDir: string): Promise<AssignmentConfig> {
  const ctx = new Context(source, configDir);
  const raw = source.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.add([], 'expected a mapping with name, models and tasks');
    throw new ConfigError(sorted(ctx.issues));
  }
  await expandReferences(raw as Record<string, unknown>, ctx);
  if (ctx.issues.length > 0) throw new ConfigError(sorted(ctx.issues));
  const parsed = AssignmentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // Locating an issue scans its YAML node: only the ones shown are located, so a file with thousands of
    // unknown keys is rejected in milliseconds, not minutes.
    const issues = plainIssues(parsed.error.issues, raw);
    for (const issue of issues.slice(0, MAX_ISSUES_SHOWN)) ctx.add(issue.path, issue.message, issue.key);
    throw new ConfigError(sorted(ctx.issues), ctx.issues.length + Math.max(0, issues.length - MAX_ISSUES_SHOWN));
  }
  const config = parsed.data;
  checkDuplicateIds(config, ctx);
  resolvePaths(config, ctx);
  checkScorers(config, ctx);
  resolveEpochs(config, ctx);
  checkProviderBatches(config, ctx);
  if (ctx.issues.length > 0) throw new ConfigError(sorted(ctx.issues));
  return config;
}

/** Issues in file order, so people read them top to bottom. */
function sorted(issues: ConfigIssue[]): ConfigIssue[] {
  const fileOrder = new Map<string, number>();
  for (const i of issues) if (!fileOrder.has(i.file)) fileOrder.set(i.file, fileOrder.size);
  return [...issues].sort(
    (a, b) => (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) || a.line - b.line || a.column - b.column,
  );
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

async function expandReferences(raw: Record<string, unknown>, ctx: Context): Promise<void> {
  for (const kind of ['models', 'tasks'] as const) {
    const list = raw[kind];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      if (typeof list[i] === 'string') list[i] = await loadReference(kind, list[i] as string, [kind, i], ctx);
    }
  }
  const tasks = Array.isArray(raw.tasks) ? raw.tasks : [];
  for (let i = 0; i < tasks.length; i++) {
    const scorer = (tasks[i] as { scorer?: { kind?: unknown; model?: unknown } } | null)?.scorer;
    if (scorer && scorer.kind === 'judge' && typeof scorer.model === 'string') {
      scorer.model = await loadReference('models', scorer.model, ['tasks', i, 'scorer', 'model'], ctx);
    }
  }
}

async function loadReference(kind: 'models' | 'tasks', name: string, at: PathSegment[], ctx: Context): Promise<unknown> {
  const noun = kind === 'models' ? 'model' : 'task';
  if (!NAME.test(name)) {
    ctx.add(at, `expected an inline ${noun} or the name of one in ${kind}/ (a slug), got ${JSON.stringify(name)}`);
    return name;
  }
  const candidates = ['yaml', 'yml'].map((ext) => path.join(ctx.configDir, kind, `${name}.${ext}`));
  const file = candidates.find((f) => existsSync(f));
  if (!file) {
    ctx.add(at, `no ${noun} named "${name}" (looked for ${displayName(candidates[0])})`);
    return name;
  }
  try {
    const source = await readYamlSource(file);
    ctx.mounts.push({ prefix: at, source });
    const value = source.value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !('id' in value)) {
      return { id: name, ...value };
    }
    return value;
  } catch (err) {
    if (err instanceof ConfigError) ctx.issues.push(...err.issues);
    else throw err;
    return name;
  }
}

function checkDuplicateIds(config: AssignmentConfig, ctx: Context): void {
  for (const kind of ['models', 'tasks'] as const) {
    const seen = new Map<string, number>();
    config[kind].forEach((item, i) => {
      const first = seen.get(item.id);
      if (first === undefined) seen.set(item.id, i);
      else ctx.add([kind, i, 'id'], `duplicate ${kind === 'models' ? 'model' : 'task'} id "${item.id}" (first used by ${kind}[${first}])`);
    });
  }
}

const EXTENSION_FORMATS: Record<string, 'jsonl' | 'csv' | 'json' | 'parquet'> = { '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv', '.json': 'json', '.parquet': 'parquet' };

/** Dataset paths and command cwds become absolute, relative to the file that wrote them. */
function resolvePaths(config: AssignmentConfig, ctx: Context): void {
  const baseDir = (at: PathSegment[]): string => {
    const { source } = ctx.mountFor(at);
    return source.doc ? path.dirname(source.absPath) : ctx.configDir;
  };
  config.tasks.forEach((task, i) => {
    // An agent task has no dataset: its environment module path is what resolves against the file.
    if (task.kind === 'agent') return resolveEnvironmentModule(task, i, baseDir, ctx);
    const at: PathSegment[] = ['tasks', i, 'dataset', 'path'];
    const ds = task.dataset;
    if (ds.path === undefined) return;
    ds.path = path.resolve(baseDir(at), ds.path);
    const isDir = existsSync(ds.path) && statSync(ds.path).isDirectory();
    // A folder is a Hugging Face dataset folder (format hf); anything else must be a file.
    if (isDir ? ds.format !== undefined && ds.format !== 'hf' : !existsSync(ds.path) || !statSync(ds.path).isFile()) {
      return ctx.add(at, isDir ? `a folder can only be read as format hf (a Hugging Face dataset folder), not ${ds.format}` : `dataset ${ds.format === 'hf' ? 'folder' : 'file'} not found: ${displayName(ds.path)}`);
    }
    if (ds.format === 'hf' && !isDir) return ctx.add(at, `format hf needs a Hugging Face dataset folder, ${displayName(ds.path)} is a file`);
    if (ds.format === undefined) {
      const ext = path.extname(ds.path).toLowerCase();
      ds.format = isDir ? 'hf' : EXTENSION_FORMATS[ext];
      if (!ds.format) ctx.add(at, `cannot tell the format from "${ext || '(no extension)'}"; set format: jsonl, csv, json, parquet or hf`);
    }
    if (ds.format !== 'hf' && (ds.split !== undefined || ds.subset !== undefined)) ctx.add(['tasks', i, 'dataset', ds.split !== undefined ? 'split' : 'subset'], 'split and subset are for format hf (a Hugging Face dataset folder)');
  });
  config.models.forEach((model, i) => {
    if (model.provider.kind === 'command' && model.provider.cwd !== undefined) {
      model.provider.cwd = path.resolve(baseDir(['models', i, 'provider', 'cwd']), model.provider.cwd);
    }
  });
}

/** A module environment's path becomes absolute, relative to the file that wrote it; builtin:<name> stays. */
function resolveEnvironmentModule(task: AgentTaskConfig, i: number, baseDir: (at: PathSegment[]) => string, ctx: Context): void {
  const env = task.environment;
  if (env.kind !== 'module' || env.module.startsWith('builtin:')) return;
  const at: PathSegment[] = ['tasks', i, 'environment', 'module'];
  env.module = path.resolve(baseDir(at), env.module);
  if (!existsSync(env.module)) ctx.add(at, `environment module not found: ${displayName(env.module)}`);
}

function checkScorers(config: AssignmentConfig, ctx: Context): void {
  config.tasks.forEach((task, i) => {
    const scorer = task.scorer;
    if (scorer?.kind !== 'regex') return;
    try {
      const re = new RegExp(scorer.pattern, scorer.flags);
      const groups = new RegExp(`${re.source}|`, scorer.flags).exec('')?.length ?? 1;
      if (scorer.group > groups - 1) ctx.add(['tasks', i, 'scorer', 'group'], `pattern has ${groups - 1} capture group(s), group ${scorer.group} does not exist`);
    } catch (err) {
      ctx.add(['tasks', i, 'scorer', 'pattern'], `invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
  });
}

/**
 * The assignment's `epochs` becomes the epochs of every prompt task that sets none, so activities read one
 * field; a `pass@k` reducer needs at least k epochs.
 */
function resolveEpochs(config: AssignmentConfig, ctx: Context): void {
  config.tasks.forEach((task, i) => {
    if (task.kind === 'agent') return;
    if (task.epochs === undefined && config.epochs !== undefined) task.epochs = config.epochs;
    const k = passAtKOf(task.reducer);
    const epochs = task.epochs ?? 1;
    if (k !== null && k > epochs) ctx.add(['tasks', i, 'reducer'], `${task.reducer} needs at least ${k} epochs, the task has ${epochs} (set epochs: ${k} or more)`);
  });
}

/**
 * A model in provider batch mode has its answers scored where the batch is collected, so every task it
 * runs needs a scorer that is a pure function of the prediction; agent tasks need a turn at a time.
 */
function checkProviderBatches(config: AssignmentConfig, ctx: Context): void {
  config.models.forEach((model, i) => {
    if (model.provider.kind !== 'openai' || !model.provider.batch) return;
    for (const task of config.tasks) {
      if (task.kind === 'agent') {
        ctx.add(['models', i, 'provider', 'batch'], `task ${task.id} is an agent task, which cannot run as provider batches (one turn depends on the last); drop batch or run this model on other tasks`);
      } else if (!INLINE_SCORERS.has(task.scorer.kind)) {
        ctx.add(['models', i, 'provider', 'batch'], `task ${task.id} has a ${task.scorer.kind} scorer; provider batches are scored as they are collected, by one of ${[...INLINE_SCORERS].join(', ')}`);
      }
    }
  });
}
