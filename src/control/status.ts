import { emptyCounts, isTerminal, jobProgressQuery, type AssignmentStatus, type Counts } from '../contracts';
import type { Store } from '../store/store';
import type { AssignmentDoc, JobDoc, JobMetrics } from '../store/documents';
import type { TemporalHandle } from '../temporal/client';

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
}

/** A step Temporal is retrying: which activity, its attempt, and the error of the last one. */
export interface RetryingStep {
  activity: string;
  attempt: number;
  lastError: string;
}

/**
 * The status of an assignment: MongoDB for what has ended, live counts from the job workflows' progress
 * queries for what is still running (a job that cannot answer falls back to its stored counts).
 */
export async function assignmentStatus(store: Store, temporal: TemporalHandle | undefined, doc: AssignmentDoc): Promise<AssignmentStatusView> {
  const jobDocs = await store.jobs.find({ assignmentId: doc._id }).sort({ _id: 1 }).toArray();
  // Without Temporal (unreachable) the view is what MongoDB last stored.
  const live = !isTerminal(doc.status) && temporal !== undefined;
  const jobs = await Promise.all(jobDocs.map((job) => (live && temporal && !isTerminal(job.status) ? liveJob(temporal, job) : storedJob(job))));
  const counts = emptyCounts();
  for (const job of jobs) for (const k of Object.keys(counts) as Array<keyof Counts>) counts[k] += job.counts[k];
  if (jobs.length === 0) counts.total = doc.counts.total;
  const status: AssignmentStatus = doc.paused && !isTerminal(doc.status) ? 'paused' : doc.status === 'pending' ? 'running' : doc.status;
  const retrying = live && temporal ? await retryingSteps(temporal, doc.workflowId) : [];
  return {
    assignmentId: doc._id, name: doc.name, status, counts: isTerminal(doc.status) ? doc.counts : counts, jobs, workflowId: doc.workflowId,
    createdAt: doc.createdAt.toISOString(), startedAt: doc.startedAt?.toISOString(), endedAt: doc.endedAt?.toISOString(),
    ...(doc.error ? { error: doc.error } : {}),
    ...(retrying.length ? { retrying } : {}),
  };
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

async function liveJob(temporal: TemporalHandle, job: JobDoc): Promise<JobStatusView> {
  try {
    const progress = await temporal.client.workflow.getHandle(job.workflowId).query(jobProgressQuery);
    return { ...storedJob(job), status: progress.status, counts: progress.counts };
  } catch {
    return storedJob(job);
  }
}
