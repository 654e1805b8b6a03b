import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import type { Store } from '../src/store/store';
import { AssignmentConfigSchema, type AssignmentConfig, type ModelConfig, type TaskConfig } from '../src/config/schema';
import { ErrorTypes } from '../src/contracts';
import { permanent } from './failures';

/** What activities need from their process: the one MongoDB store, the environment and who this worker is. */
export interface ActivityDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  /** Shown in results and `workers list`: host, pid and worker type. */
  workerIdentity: string;
  /** Extra environment for the processes a model call starts (CUDA_VISIBLE_DEVICES from the device manager). */
  leaseDevices?: (model: ModelConfig) => Promise<DeviceLease>;
  /** Model calls this process may have in flight at once, over every queue it polls (the worker's `--slots`). */
  callSlots?: number;
  /** Sees every sample's prompt, prediction and score, for `evalctl run --debug`. */
  debug?: (event: DebugEvent) => void;
}

/** One sample as `run --debug` echoes it. */
export interface DebugEvent {
  assignmentId: string;
  jobId: string;
  index: number;
  prompt: string;
  prediction: string;
  target: unknown;
  score: number | null;
}

/** Devices held by one model call; released on every ending. */
export interface DeviceLease {
  env: Record<string, string>;
  release(): void;
}

/** Default identity of a worker process. */
export function defaultWorkerIdentity(type: string): string {
  return `${hostname()}/${process.pid}/${type}`;
}

/**
 * Config snapshots are immutable once an assignment starts, so each process parses one at most once and
 * keeps a handful in memory.
 */
export class ConfigCache {
  private readonly entries = new Map<string, AssignmentConfig>();
  private readonly reuse = new Map<string, { from: string | null; fresh: boolean }>();

  constructor(private readonly store: Store, private readonly capacity = 32) {}

  async get(assignmentId: string): Promise<AssignmentConfig> {
    const hit = this.entries.get(assignmentId);
    if (hit) return hit;
    const doc = await this.store.assignments.findOne({ _id: assignmentId }, { projection: { config: 1 } });
    if (!doc) throw permanent(`assignment ${assignmentId} not found in MongoDB`, ErrorTypes.NotFound);
    const config = AssignmentConfigSchema.parse(doc.config);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(assignmentId, config);
    return config;
  }

  /** What the assignment reuses predictions from: null (nothing), '*' (any) or an assignment id. */
  async reuseFrom(assignmentId: string): Promise<string | null> {
    return (await this.reusePolicy(assignmentId)).from;
  }

  /** Its --reuse source, and whether it was started with --no-reuse (only its own results are reused). */
  async reusePolicy(assignmentId: string): Promise<{ from: string | null; fresh: boolean }> {
    if (!this.reuse.has(assignmentId)) {
      const doc = await this.store.assignments.findOne({ _id: assignmentId }, { projection: { reuseFrom: 1, noReuse: 1 } });
      this.reuse.set(assignmentId, { from: doc?.reuseFrom ?? null, fresh: doc?.noReuse === true });
    }
    return this.reuse.get(assignmentId) ?? { from: null, fresh: false };
  }

  async model(assignmentId: string, modelId: string): Promise<ModelConfig> {
    const model = (await this.get(assignmentId)).models.find((m) => m.id === modelId);
    if (!model) throw permanent(`model ${modelId} is not in assignment ${assignmentId}`, ErrorTypes.NotFound);
    return model;
  }

  async task(assignmentId: string, taskId: string): Promise<TaskConfig> {
    const task = (await this.get(assignmentId)).tasks.find((t) => t.id === taskId);
    if (!task) throw permanent(`task ${taskId} is not in assignment ${assignmentId}`, ErrorTypes.NotFound);
    return task;
  }
}

/** Run id of the workflow that called the current activity: part of idempotent event ids. */
export function currentRunId(): string {
  return Context.current().info.workflowExecution?.runId ?? 'standalone';
}

/** A per-process cache of built objects (providers, scorers) that starts over past `max` entries. */
export class BuiltCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max = 256) {}

  /** The object for `key`, built by `make` the first time. */
  get(key: string, make: () => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make();
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(key, value);
    }
    return value;
  }
}
