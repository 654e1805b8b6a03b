import { canonicalJson, sha256Hex } from '../config/canonical';
import type { AgentTaskConfig, TaskConfig } from '../config/schema';
import type { AgentRunSettings } from '../contracts';
import { DatasetError, openDataset, withEpochs, type Dataset, type Sample } from '../datasets';
import { environmentFor, environmentIdentity } from './registry';
import { UnknownTaskError, type SampleIndex } from './types';

/**
 * The samples of any task, as a Dataset: a prompt task's dataset file, or an agent task's environment
 * indices. An agent sample's fields name the environment and the index, so its key changes with either.
 * A prompt task with epochs repeats its dataset once per epoch (withEpochs).
 */
export async function openTaskSamples(task: TaskConfig): Promise<Dataset> {
  if (task.kind !== 'agent') return withEpochs(await openDataset(task.dataset), task.epochs ?? 1);
  const all = await indicesOf(task).catch((err: unknown) => {
    // A task the environment does not have can never run: the same permanent error as a missing dataset.
    if (err instanceof UnknownTaskError) throw new DatasetError(`task ${task.id}: environment ${task.environment.name}: ${err.message}`);
    throw err;
  });
  const indices = task.limit === undefined ? all : all.slice(0, task.limit);
  const identity = environmentIdentity(task.environment);
  const contentHash = sha256Hex(canonicalJson({ environment: identity, indices }));
  const readPage = async (offset: number, limit: number): Promise<Sample[]> =>
    indices.slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit)).map((index, i) => agentSample(identity, index, offset + i));
  return {
    contentHash,
    viewHash: contentHash,
    count: indices.length,
    readPage,
    async *iterate(pageSize = 500) {
      for (let offset = 0; offset < indices.length; offset += pageSize) yield* await readPage(offset, pageSize);
    },
  };
}

/** Where a task's samples come from, for `validate`. */
export function describeSamples(task: AgentTaskConfig): string {
  const env = task.environment;
  return `environment ${env.name} (${env.kind === 'module' ? env.module : `${env.url} ${env.task}`})`;
}

/** The environment's own index of a sample, as stored in its fields. */
export function environmentIndexOf(sample: Pick<Sample, 'fields'>): SampleIndex {
  return sample.fields.index as SampleIndex;
}

function agentSample(environment: Record<string, unknown>, index: SampleIndex, position: number): Sample {
  return { index: position, id: String(index), fields: { environment, index } };
}

/** Indices per environment, asked once per process: they are fixed for a task's lifetime. */
const cache = new Map<string, Promise<SampleIndex[]>>();

async function indicesOf(task: AgentTaskConfig): Promise<SampleIndex[]> {
  const key = canonicalJson(environmentIdentity(task.environment));
  let pending = cache.get(key);
  if (!pending) {
    pending = environmentFor(task.environment).indices();
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

/** What a job carries for an agent task (nothing for a prompt task). */
export function agentPlanOf(task: TaskConfig): { agent?: AgentRunSettings } {
  if (task.kind !== 'agent') return {};
  return { agent: { environment: task.environment.name, maxTurns: task.maxTurns, timeLimitMs: task.timeLimitMs, maxRestarts: task.maxRestarts } };
}

/**
 * Asks the environment of every agent task for its samples before an assignment starts, so a task the
 * environment does not have is refused (a DatasetError) with nothing started. An environment that cannot
 * be reached now is not an error here: its episodes wait for it. Returns those reasons, for warnings.
 */
export async function checkEnvironments(tasks: TaskConfig[]): Promise<string[]> {
  const unreachable: string[] = [];
  for (const task of tasks) {
    if (task.kind !== 'agent') continue;
    try {
      await openTaskSamples(task);
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      unreachable.push(`task ${task.id}: environment ${task.environment.name}: ${(err as Error).message}`);
    }
  }
  return unreachable;
}
