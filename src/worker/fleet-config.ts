import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SlugSchema } from '../config/schema-model';
import { ConfigError, formatPath, type PathSegment } from '../config/errors';
import { plainIssues } from '../config/zod-issues';
import { locate, readYamlSource } from '../config/yaml-source';
import { WORKER_TYPES } from '../contracts/queues';

/**
 * The worker fleet config (`configs/workers.yaml`) read by `evalctl workers start -c`: groups of
 * identical workers, each group turned into `evalctl worker <type> ...` command lines.
 */

/** A GPU id as given to CUDA_VISIBLE_DEVICES: a number or a UUID-like name. */
const GpuIdSchema = z.union([z.number().int().nonnegative(), z.string().regex(/^[A-Za-z0-9-]+$/, 'must be a GPU index or id')]).transform(String);

/** One group of identical workers. */
export const WorkerGroupSchema = z
  .object({
    type: z.enum(WORKER_TYPES).describe('Task type the workers serve: orchestrator, inference, scoring, all, or task (an agent environment).'),
    environment: SlugSchema.optional().describe('type task: the agent environment served (environment.name of agent tasks).'),
    capacity: z.number().int().min(1).max(10_000).optional().describe('type task: environment sessions held at once per worker.'),
    count: z.number().int().min(1).max(64).default(1).describe('How many worker processes of this group to run.'),
    name: SlugSchema.optional().describe('Prefix of the worker names (default: the type, plus the GPU tag); workers are <name>-<i>.'),
    slots: z.number().int().min(1).max(10_000).optional().describe('Model calls in flight at once per worker (no device manager).'),
    gpus: z.array(GpuIdSchema).min(1).optional().describe('GPU ids this worker hands out (CUDA_VISIBLE_DEVICES values).'),
    gpuType: SlugSchema.optional().describe('GPU tag: the worker polls evalctl-inference.gpu-<tag>.'),
    slotsPerGpu: z.number().int().min(1).max(64).default(1).describe('Calls that may share one GPU at once.'),
    cpuSlots: z.number().int().min(1).max(10_000).optional().describe('Slots for calls needing no GPU; a GPU worker with them also polls the shared queue.'),
    queues: z.array(z.string().min(1)).default([]).describe('Extra inference queues to poll.'),
    queueRates: z
      .record(SlugSchema, z.number().positive())
      .default({})
      .describe('Rate-limited models this group serves: model id -> requests per second, the same on every worker.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment for these workers.'),
  })
  .strict()
  .superRefine((g, ctx) => {
    if ((g.gpus === undefined) !== (g.gpuType === undefined)) {
      ctx.addIssue({ code: 'custom', path: [g.gpus ? 'gpuType' : 'gpus'], message: 'gpus and gpuType go together' });
    }
    if (g.gpus && g.count > 1) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: 'workers with gpus would share them: use one group per GPU set (count 1)' });
    }
    if ((g.type === 'task') !== (g.environment !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['environment'], message: 'task workers, and only they, name an environment' });
    }
    if (g.gpus && g.type !== 'inference' && g.type !== 'all') {
      ctx.addIssue({ code: 'custom', path: ['gpus'], message: 'only inference (or all) workers take GPUs' });
    }
  })
  .describe('A group of identical workers.');

/** Restart policy of the supervisor: exponential backoff, reset after a worker has run long enough. */
export const RestartSchema = z
  .object({
    initialDelayMs: z.number().int().min(0).default(1000).describe('Wait before the first restart of a crashed worker.'),
    maxDelayMs: z.number().int().min(0).default(30_000).describe('Longest wait between restarts.'),
    resetAfterMs: z.number().int().min(0).default(60_000).describe('A worker that ran this long starts again from the initial delay.'),
  })
  .strict();

/** The whole fleet of one host. */
export const FleetConfigSchema = z
  .object({
    basePort: z.number().int().min(1).max(65_000).optional().describe('Worker i serves /healthz and /metrics on basePort + i.'),
    logDir: z.string().min(1).default('logs/workers').describe('Directory of the per-worker log files (relative to the config file).'),
    stopTimeoutMs: z.number().int().min(0).default(15_000).describe('Grace period on stop before a worker is killed.'),
    restart: RestartSchema.default({ initialDelayMs: 1000, maxDelayMs: 30_000, resetAfterMs: 60_000 }).describe('Restart backoff.'),
    workers: z.array(WorkerGroupSchema).min(1).describe('Worker groups.'),
  })
  .strict()
  .describe('A fleet of evalctl workers supervised by `evalctl workers start`.');

/** A worker group after defaults. */
export type WorkerGroup = z.infer<typeof WorkerGroupSchema>;
/** A fleet config after defaults. */
export type FleetConfig = z.infer<typeof FleetConfigSchema>;

/** One worker process the supervisor runs. */
export interface FleetMember {
  name: string;
  type: WorkerGroup['type'];
  /** Arguments after `evalctl`. */
  args: string[];
  metricsPort?: number;
  env: Record<string, string>;
}

/** Validates a parsed fleet config; issues name the path. */
export function parseFleetConfig(value: unknown, file = '<fleet config>'): FleetConfig {
  const parsed = FleetConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(plainIssues(parsed.error.issues, value).map((i) => ({ file, line: 0, column: 0, path: formatPath(i.path), message: i.message })));
}

/** Reads and validates a fleet config file; errors carry file, line and path. `logDir` comes back absolute. */
export async function loadFleetConfig(file: string): Promise<FleetConfig> {
  const source = await readYamlSource(file);
  const parsed = FleetConfigSchema.safeParse(source.value);
  if (!parsed.success) {
    throw new ConfigError(plainIssues(parsed.error.issues, source.value).map((i) => {
      const at = locate(source, i.key === undefined ? i.path : (i.path.slice(0, -1) as PathSegment[]), i.key);
      return { file: source.display, line: at.line, column: at.column, path: formatPath(i.path), message: i.message };
    }));
  }
  return { ...parsed.data, logDir: resolve(dirname(source.absPath), parsed.data.logDir) };
}

/** A fleet from `--start inference 2 scoring 1`: pairs of type and count. */
export function fleetFromPairs(pairs: readonly string[], opts: { basePort?: number; logDir?: string } = {}): FleetConfig {
  if (pairs.length === 0 || pairs.length % 2 !== 0) throw new ConfigError([{ file: '--start', line: 0, column: 0, path: '', message: 'expected pairs of <type> <count>, like: inference 2 scoring 1' }]);
  const workers: Array<{ type: string; count: number; environment?: string }> = [];
  for (let i = 0; i < pairs.length; i += 2) {
    if (!/^\d+$/.test(pairs[i + 1])) throw new ConfigError([{ file: '--start', line: 0, column: 0, path: '', message: `count of ${pairs[i]} must be a whole number, got "${pairs[i + 1]}"` }]);
    // Task workers of an agent environment are asked for as task:<environment>, so a mistyped or unknown
    // type (`--start gpu 1`) is an error rather than a task worker for an environment named "gpu".
    const env = /^task:(.+)$/.exec(pairs[i])?.[1];
    const isType = (WORKER_TYPES as readonly string[]).includes(pairs[i]) && pairs[i] !== 'task';
    if (!isType && env === undefined) {
      const types = WORKER_TYPES.filter((t) => t !== 'task').join(', ');
      throw new ConfigError([{ file: '--start', line: 0, column: 0, path: '', message: `"${pairs[i]}" is not a worker type (${types}); task workers of an agent environment are task:<environment>, like task:number-guess 2` }]);
    }
    workers.push(isType ? { type: pairs[i], count: Number(pairs[i + 1]) } : { type: 'task', environment: env, count: Number(pairs[i + 1]) });
  }
  const config = parseFleetConfig({ basePort: opts.basePort, workers }, '--start');
  return opts.logDir ? { ...config, logDir: opts.logDir } : config;
}

/** Expands groups into worker processes, with names, metrics ports and `evalctl worker` arguments. */
export function fleetMembers(config: FleetConfig): FleetMember[] {
  const members: FleetMember[] = [];
  for (const group of config.workers) {
    const prefix = group.name ?? (group.gpuType ? `${group.type}-gpu-${group.gpuType}` : group.environment ? `task-${group.environment}` : group.type);
    for (let i = 1; i <= group.count; i++) {
      const name = `${prefix}-${i}`;
      const metricsPort = config.basePort === undefined ? undefined : config.basePort + members.length;
      members.push({ name, type: group.type, args: workerArgs(group, name, metricsPort), metricsPort, env: group.env });
    }
  }
  const names = members.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError([{ file: 'fleet', line: 0, column: 0, path: 'workers', message: `two workers are named ${dup}: give the groups distinct names` }]);
  return members;
}

/** The `evalctl worker` command line of one member of a group. */
export function workerArgs(group: WorkerGroup, name: string, metricsPort?: number): string[] {
  const args = ['worker', group.type, ...(group.environment ? [group.environment] : []), '--name', name];
  if (group.capacity !== undefined) args.push('--capacity', String(group.capacity));
  if (group.slots !== undefined) args.push('--slots', String(group.slots));
  if (group.gpus) args.push('--gpus', group.gpus.join(','), '--gpu-type', String(group.gpuType), '--slots-per-gpu', String(group.slotsPerGpu));
  if (group.cpuSlots !== undefined) args.push('--cpu-slots', String(group.cpuSlots));
  if (group.queues.length > 0) args.push('--queue', ...group.queues);
  const rates = Object.entries(group.queueRates);
  if (rates.length > 0) args.push('--queue-rate', ...rates.map(([model, rps]) => `${model}=${rps}`));
  if (metricsPort !== undefined) args.push('--metrics-port', String(metricsPort));
  return args;
}
