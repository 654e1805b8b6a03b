import type { AssignmentStatus, Counts } from '../contracts';
import type { AssignmentDoc, JobDoc, MetricSummary } from '../store/documents';

/**
 * The summary table of an assignment, like a benchmark's results table: models as rows, tasks as
 * columns, one cell per job. Built from stored job documents only, so it is cheap and pure.
 */

/** One (model, task) cell: the job's score with its interval, counts and costs. */
export interface SummaryCell {
  jobId: string;
  status: AssignmentStatus;
  score: MetricSummary | null;
  counts: Counts;
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  cost: number;
  /** Agent tasks: the environment's overall metric (calculate_overall), when it has one. */
  overall?: unknown;
}

/** One model's row; `cells[task]` is absent when the model did not run that task. */
export interface SummaryRow {
  modelId: string;
  cells: Record<string, SummaryCell | undefined>;
}

/** The whole table plus what identifies the assignment. */
export interface SummaryTable {
  assignmentId: string;
  name: string;
  status: AssignmentStatus;
  error?: string;
  createdAt: string;
  endedAt?: string;
  counts: Counts;
  models: string[];
  tasks: string[];
  rows: SummaryRow[];
}

/** Ids in the order the config lists them, then any others (a job of an id the config no longer names) sorted. */
function orderedIds(configured: string[], seen: Iterable<string>): string[] {
  const out = configured.filter((id, i) => configured.indexOf(id) === i);
  const extra = [...new Set(seen)].filter((id) => !out.includes(id)).sort();
  return [...out, ...extra];
}

/** Model and task ids of a config snapshot, in config order. */
export function configIds(config: Record<string, unknown>): { models: string[]; tasks: string[] } {
  const ids = (list: unknown): string[] =>
    Array.isArray(list) ? list.map((x) => (x && typeof x === 'object' ? (x as { id?: unknown }).id : undefined)).filter((id): id is string => typeof id === 'string') : [];
  return { models: ids(config.models), tasks: ids(config.tasks) };
}

/** A job document as a table cell; missing metrics (a job still running) become empty figures. */
export function cellOf(job: JobDoc): SummaryCell {
  const m = job.metrics;
  return {
    jobId: job.jobId,
    status: job.status,
    score: m?.score ?? null,
    counts: job.counts,
    latencyMs: { p50: finiteOrNull(m?.latencyMs.p50), p95: finiteOrNull(m?.latencyMs.p95) },
    tokens: m?.tokens ?? { input: 0, output: 0 },
    cost: m?.cost ?? 0,
    ...(job.overall === undefined || job.overall === null ? {} : { overall: job.overall }),
  };
}

function finiteOrNull(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** Builds the models x tasks table of an assignment from its job documents. */
export function buildSummary(assignment: AssignmentDoc, jobs: JobDoc[]): SummaryTable {
  const ids = configIds(assignment.config);
  const models = orderedIds(ids.models, jobs.map((j) => j.modelId));
  const tasks = orderedIds(ids.tasks, jobs.map((j) => j.taskId));
  const rows = models.map((modelId) => {
    const cells: Record<string, SummaryCell | undefined> = {};
    for (const job of jobs) if (job.modelId === modelId) cells[job.taskId] = cellOf(job);
    return { modelId, cells };
  });
  return {
    assignmentId: assignment._id,
    name: assignment.name,
    status: assignment.status,
    ...(assignment.error ? { error: assignment.error } : {}),
    createdAt: assignment.createdAt.toISOString(),
    ...(assignment.endedAt ? { endedAt: assignment.endedAt.toISOString() } : {}),
    counts: assignment.counts,
    models,
    tasks,
    rows,
  };
}
