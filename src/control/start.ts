import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DEFAULT_OUTPUT, type AssignmentConfig } from '../config/schema';
import { exportDirOf } from '../report/export';
import {
  EvalAssignmentKey, EvalStatusKey, ORCHESTRATOR_QUEUE, assignmentWorkflowId, emptyCounts,
  type AssignmentWorkflowInput, type RunMode,
} from '../contracts';
import { checkEnvironments } from '../environments';
import type { Store } from '../store/store';
import type { TemporalHandle } from '../temporal/client';
import { requireNamespaceReady } from '../temporal/setup';

/** What `start` needs beyond the validated config. */
export interface StartRequest {
  config: AssignmentConfig;
  sourcePath?: string;
  assignmentId?: string;
  mode?: RunMode;
  reuseFrom?: string | null;
  /** --no-reuse: reuse no stored result of another assignment. */
  noReuse?: boolean;
}

/** What `start` reports. */
export interface Started {
  assignmentId: string;
  workflowId: string;
}

/** Thrown when an assignment id is already taken, in MongoDB or in Temporal. */
export class AssignmentExistsError extends Error {
  override name = 'AssignmentExistsError';
}

/** A readable, unique id: the config's name, a UTC timestamp and a short random suffix. */
export function newAssignmentId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${name}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * Where the assignment's export goes: the config's `output` (relative to the config file), else
 * outputs/<name>/<timestamp> in the working directory of this command; null with `output: false`.
 */
export function outputDirOf(config: Pick<AssignmentConfig, 'name' | 'output'>, sourcePath: string | undefined, createdAt: Date, cwd = process.cwd()): string | null {
  if (config.output === false) return null;
  if (config.output) return exportDirOf({ name: config.name, createdAt, sourcePath }, config.output, cwd);
  return exportDirOf({ name: config.name, createdAt, sourcePath: undefined }, DEFAULT_OUTPUT, cwd);
}

/**
 * Snapshots the config to MongoDB (secrets stay `${NAME}` references) and starts the assignment workflow.
 * If the workflow cannot be started the snapshot is removed again, so a failed start changes nothing. An
 * agent task its environment does not have is refused first (a DatasetError).
 */
export async function startAssignment(store: Store, temporal: TemporalHandle, req: StartRequest): Promise<Started> {
  await checkEnvironments(req.config.tasks);
  // Without evalctl's search attributes the start fails, or (some missing) the workflows fail later out of
  // sight: check first, before anything is written.
  await requireNamespaceReady(temporal.connection, temporal.client.options.namespace);
  const assignmentId = req.assignmentId ?? newAssignmentId(req.config.name);
  const workflowId = assignmentWorkflowId(assignmentId);
  const now = new Date();
  try {
    await store.assignments.insertOne({
      _id: assignmentId, name: req.config.name, description: req.config.description, config: req.config as unknown as Record<string, unknown>,
      sourcePath: req.sourcePath, outputDir: outputDirOf(req.config, req.sourcePath, now), mode: req.mode ?? 'all', reuseFrom: req.reuseFrom ?? null, ...(req.noReuse ? { noReuse: true } : {}), workflowId, status: 'pending',
      paused: false, cancelRequested: false, counts: emptyCounts(), createdAt: now, updatedAt: now,
    });
  } catch (err) {
    if ((err as { code?: number }).code === 11000) throw new AssignmentExistsError(`an assignment with id "${assignmentId}" already exists`);
    throw err;
  }
  try {
    const input: AssignmentWorkflowInput = { version: 1, assignmentId };
    await temporal.client.workflow.start('assignmentWorkflow', {
      taskQueue: ORCHESTRATOR_QUEUE,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [{ key: EvalAssignmentKey, value: assignmentId }, { key: EvalStatusKey, value: 'running' }],
    });
  } catch (err) {
    await store.assignments.deleteOne({ _id: assignmentId, status: 'pending' });
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AssignmentExistsError(`a workflow with id "${workflowId}" already exists in Temporal`);
    throw withCause(err);
  }
  await store.events.updateOne(
    { _id: `${assignmentId}/submitted` },
    { $setOnInsert: { assignmentId, type: 'submitted', at: now, data: { mode: req.mode ?? 'all', ...(req.noReuse ? { noReuse: true } : {}) } } },
    { upsert: true },
  );
  return { assignmentId, workflowId };
}

/** The SDK's start error says only "Failed to start Workflow"; the server's reason is in its cause. */
function withCause(err: unknown): unknown {
  const cause = (err as { cause?: { details?: unknown; message?: unknown } }).cause;
  const why = typeof cause?.details === 'string' && cause.details ? cause.details : typeof cause?.message === 'string' ? cause.message : undefined;
  if (!(err instanceof Error) || !why || err.message.includes(why)) return err;
  return new Error(`${err.message}: ${why}`, { cause: err });
}
