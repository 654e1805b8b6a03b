import { emptyCounts, isTerminal, jobProgressQuery, type AssignmentStatus, type Counts, type SampleStatus } from '../contracts';
import type { Store } from '../store/store';
import type { AssignmentDoc, JobDoc, JobMetrics } from '../store/documents';
import type { TemporalHandle } from '../temporal/client';
import { orchestratorPolled } from './queue-check';
import { BudgetSchema, ModelConfigSchema, type BudgetConfig } from '../config/schema';
import { endpointName } from '../config/endpoint';
import { endpointViews, type EndpointView } from '../store/endpoint-limits';
import type { Spend } from '../metrics/budget';
import { assignmentSpend } from '../store/spend';

/** How long a job's progress query may take before MongoDB's figures are shown instead. */
export const QUERY_TIMEOUT_MS = 3_000;

/** Whether the live figures came from the job workflows: no (an orchestrator is not running or did not answer). */
export type OrchestratorState = 'running' | 'not running' | 'not answering';

/** One job as `status` shows it. */
export interface JobStatusView {
  jobId: string;
  modelId: string;
  taskId: string;
  status: AssignmentStatus;
  counts: Counts;
  metrics?: JobMetrics;
  /** Agent tasks: the environment's overall metric over the job's episodes (calculate_overall). */
  overall?: unknown;
  workflowId: string;
}

/** What `evalctl status --json` prints. */
export interface AssignmentStatusView {
  assignmentId: string;
  name: string;
  status: AssignmentStatus;
  counts: Counts;
  jobs: JobStatusView[];
  workflowId: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** Steps of a running assignment that failed and are being retried (planning when MongoDB is away, say). */
  retrying?: RetryingStep[];
  /** For an assignment not ended: whether its job workflows answered; otherwise counts are MongoDB's. */
  orchestrator?: OrchestratorState;
  /** Provider batches of jobs in provider batch mode, as last polled. */
  batches?: ProviderBatchView[];
  /** With a `budget`: its limits, what the model calls spent so far, and why it stopped the run once it did. */
  budget?: BudgetView;
  /** Models with adaptive concurrency: their endpoint's current shared limit and calls in flight. */
  endpoints?: EndpointView[];
}

/** One provider batch as `status` shows it: the endpoint's id, state and request counts. */
export interface ProviderBatchView {
  jobId: string;
  /** First and one past the last sample index of its range. */
  start: number;
  end: number;
  /** 0 for the first submission, n for the n-th resubmission of what an expired batch left unanswered. */
  round: number;
  /** The endpoint's batch id; null when nothing had to be sent (every request answered before). */
  remoteId: string | null;
  status: string;
  requests: number;
  counts?: { total: number; completed: number; failed: number };
  /** How its samples ended, once collected. */
  collected?: { succeeded: number; failed: number; canceled: number; unanswered: number };
}

/** The provider batches of an assignment, in job and range order. */
export async function providerBatchesOf(store: Store, assignmentId: string): Promise<ProviderBatchView[]> {
  const docs = await store.providerBatches
    .find({ assignmentId }, { projection: { jobId: 1, start: 1, end: 1, round: 1, remoteId: 1, status: 1, counts: 1, collected: 1, 'requests.customId': 1 } })
    .toArray();
  return docs
    .map((d) => ({
      jobId: d.jobId, start: d.start, end: d.end, round: d.round, remoteId: d.remoteId ?? null, status: d.status, requests: d.requests?.length ?? 0,
      ...(d.counts ? { counts: d.counts } : {}), ...(d.collected ? { collected: d.collected } : {}),
    }))
    .sort((a, b) => a.jobId.localeCompare(b.jobId) || a.start - b.start || a.round - b.round);
}

/** An assignment's budget as `status` shows it. */
export interface BudgetView {
  limits: BudgetConfig;
  spent: Spend;
  stopped?: string;
}

/** The budget part of the status, from the config snapshot and the spend counters. */
async function withBudget(store: Store, doc: AssignmentDoc): Promise<{ budget?: BudgetView }> {
  const parsed = BudgetSchema.safeParse(doc.config.budget);
  if (!parsed.success) return {};
  const spent = await assignmentSpend(store.spend, doc._id);
  return { budget: { limits: parsed.data, spent, ...(doc.budgetStop ? { stopped: doc.budgetStop.reason } : {}) } };
}

/** A step Temporal is retrying: which activity, its attempt, and the error of the last one. */
export interface RetryingStep {
  activity: string;
  attempt: number;
  lastError: string;
}

/**
 * The status of an assignment: MongoDB for what has ended, live counts from the job workflows' progress
 * queries for what is still running. With no orchestrator polling, or a query unanswered within
 * QUERY_TIMEOUT_MS, a job's counts come from its sample records in MongoDB (the figures the live ones
 * are written from, so counts never go backwards), and `orchestrator` says why.
 */
export async function assignmentStatus(store: Store, temporal: TemporalHandle | undefined, doc: AssignmentDoc): Promise<AssignmentStatusView> {
  const jobDocs = await store.jobs.find({ assignmentId: doc._id }).sort({ _id: 1 }).toArray();
  // Without Temporal (unreachable) the view is what MongoDB last stored.
  const live = !isTerminal(doc.status) && temporal !== undefined;
  const polled = live && temporal ? await orchestratorPolled(temporal.client, temporal.client.options.namespace) : null;
  let answered = true;
  const jobs = await Promise.all(jobDocs.map(async (job) => {
    if (!live || !temporal || isTerminal(job.status)) return storedJob(job);
    const view = polled === false ? undefined : await liveJob(temporal, job);
    if (view) return view;
    answered = false;
    return recordedJob(store, job);
  }));
  const counts = emptyCounts();
  for (const job of jobs) for (const k of Object.keys(counts) as Array<keyof Counts>) counts[k] += job.counts[k];
  if (jobs.length === 0) counts.total = doc.counts.total;
  const status: AssignmentStatus = doc.paused && !isTerminal(doc.status) ? 'paused' : doc.status === 'pending' ? 'running' : doc.status;
  const retrying = live && temporal ? await retryingSteps(temporal, doc.workflowId) : [];
  const orchestrator: OrchestratorState | undefined = !live ? undefined : polled === false ? 'not running' : answered ? 'running' : 'not answering';
  const batches = await providerBatchesOf(store, doc._id);
  return {
    assignmentId: doc._id, name: doc.name, status, counts: isTerminal(doc.status) ? doc.counts : counts, jobs, workflowId: doc.workflowId,
    createdAt: doc.createdAt.toISOString(), startedAt: doc.startedAt?.toISOString(), endedAt: doc.endedAt?.toISOString(),
    ...(doc.error ? { error: doc.error } : {}),
    ...(retrying.length ? { retrying } : {}), ...(orchestrator ? { orchestrator } : {}),
    ...(batches.length ? { batches } : {}),
    ...(await withBudget(store, doc)),
    ...(await withEndpoints(store, doc)),
  };
}

/** The shared limits of the assignment's adaptive endpoints, as MongoDB holds them now. */
async function withEndpoints(store: Store, doc: AssignmentDoc): Promise<{ endpoints?: EndpointView[] }> {
  const models = Array.isArray(doc.config.models) ? doc.config.models : [];
  const names = new Set<string>();
  for (const m of models) {
    const parsed = ModelConfigSchema.safeParse(m);
    if (parsed.success && parsed.data.adaptiveConcurrency) names.add(endpointName(parsed.data));
  }
  if (names.size === 0) return {};
  return { endpoints: await endpointViews({ endpoints: store.endpoints, leases: store.endpointLeases }, [...names]) };
}


/**
 * The assignment workflow's activities that failed at least once and wait for their next attempt: a transient
 * error is retried, and `status` shows it while it is, instead of counts that simply do not move.
 */
async function retryingSteps(temporal: TemporalHandle, workflowId: string): Promise<RetryingStep[]> {
  try {
    const described = await temporal.client.workflow.getHandle(workflowId).describe();
    return (described.raw.pendingActivities ?? [])
      .filter((a) => (a.attempt ?? 0) > 1 && a.lastFailure?.message)
      .map((a) => ({ activity: a.activityType?.name ?? 'activity', attempt: a.attempt ?? 0, lastError: a.lastFailure?.message ?? '' }));
  } catch {
    return [];
  }
}

function storedJob(job: JobDoc): JobStatusView {
  return {
    jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, status: job.status, counts: job.counts, metrics: job.metrics, workflowId: job.workflowId,
    ...(job.overall === undefined ? {} : { overall: job.overall }),
  };
}

/** A job's live counts, never below the stored ones; undefined when its workflow does not answer in time. */
async function liveJob(temporal: TemporalHandle, job: JobDoc): Promise<JobStatusView | undefined> {
  // A gRPC deadline, not a race against a timer: a query that lost a race would go on retrying after the
  // command closed its connection (and crash it with "Channel has been shut down").
  try {
    const handle = temporal.client.workflow.getHandle(job.workflowId);
    const progress = await temporal.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(jobProgressQuery));
    return { ...storedJob(job), status: progress.status, counts: atLeast(progress.counts, job.counts) };
  } catch {
    return undefined;
  }
}

/** A job's counts from its sample records (nothing is known to be running then), never below the stored ones. */
async function recordedJob(store: Store, job: JobDoc): Promise<JobStatusView> {
  const counts = emptyCounts(job.counts.total);
  const grouped = store.samples.aggregate<{ _id: SampleStatus; n: number }>([
    { $match: { assignmentId: job.assignmentId, jobId: job.jobId } },
    { $group: { _id: '$status', n: { $sum: 1 } } },
  ]);
  for await (const g of grouped) if (g._id in counts) counts[g._id] += g.n;
  return { ...storedJob(job), counts: atLeast({ ...counts, running: 0 }, { ...job.counts, running: 0 }) };
}

/** Per ended status the larger of two counts, so a figure read from a lagging source never goes down. */
function atLeast(a: Counts, b: Counts): Counts {
  return {
    total: Math.max(a.total, b.total), succeeded: Math.max(a.succeeded, b.succeeded), failed: Math.max(a.failed, b.failed),
    reused: Math.max(a.reused, b.reused), canceled: Math.max(a.canceled, b.canceled), running: a.running,
  };
}
