import type { Counts, SampleStatus, AssignmentStatus } from './status';
import type { AgentRunSettings } from './episode';
import type { JobBatch, ProviderBatchSettings } from './provider-batch';

/**
 * Inputs and outputs of evalctl's workflows. They stay small (ids, cursors, counters): everything else
 * lives in MongoDB and is read by activities. Every input carries a version so old histories replay.
 */

export const WORKFLOW_INPUT_VERSION = 1;

/** What `start` can ask of an assignment: every stage, or one of them. */
export type RunMode = 'all' | 'infer' | 'eval' | 'report';

/** Input of assignmentWorkflow. */
export interface AssignmentWorkflowInput {
  version: 1;
  assignmentId: string;
  /** Set by `evalctl retry`: this run re-executes what failed or was canceled in the previous one. */
  retryRun?: number;
}

/** Retry settings handed to activities, derived from the config's `retry`. */
export interface RetrySettings {
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
}

/** One (model, task) pair as planned by planAssignment. */
export interface JobPlan {
  jobId: string;
  modelId: string;
  taskId: string;
  total: number;
  window: number;
  inferenceQueue: string;
  /** Milliseconds a single model call may take before it is timed out and retried. */
  inferTimeoutMs: number;
  /** The scorer needs no service of its own, so the model call is scored and stored in the same activity. */
  scoreInline: boolean;
  /** Set for agent tasks: samples run as episodes (episodeWorkflow) against this environment. */
  agent?: AgentRunSettings;
  /** The config's `fanout`: absent (older histories) means per-sample. */
  fanout?: 'per-sample' | 'batch';
  /**
   * Batch fan-out runs each shard inside one long activity (the shard runner) rather than one activity per
   * sample: set when the scorer is inline and the model has no queue rate limit to respect.
   */
  batchRunner?: boolean;
  /**
   * Set when the model is in provider batch mode (`provider.batch`) and the stage calls the model: the
   * job's requests go to the endpoint's batch API (workflows/provider-batch.ts) instead of online calls.
   */
  providerBatch?: ProviderBatchSettings;
  /**
   * Per-sample fan-out runs each sample workflow on the shared inference queue with the model call, scored
   * inline, as a local activity (see localCallOf in src/plan/jobs.ts). Absent (older histories): not set.
   */
  localCall?: boolean;
}

/** What planAssignment returns to the assignment workflow. */
export interface AssignmentPlan {
  jobs: JobPlan[];
  globalConcurrency: number;
  /** Jobs running at once. */
  maxJobs: number;
  retry: RetrySettings;
  mode: RunMode;
  /** Extra rounds that re-run failed samples at the end (the config's autoRetry). */
  autoRetry: number;
}

/** Input of jobWorkflow; also the state carried across continue-as-new. */
export interface JobWorkflowInput {
  version: 1;
  assignmentId: string;
  job: JobPlan;
  retry: RetrySettings;
  mode: RunMode;
  /** Next sample index not yet handed to a child. */
  cursor: number;
  /** Samples whose execution (own or adopted) has not reported back yet. */
  inFlight: InFlightSample[];
  /** Indexes whose samples must be planned again (an adopted run ended without success). */
  retryQueue: number[];
  counts: Counts;
  paused: boolean;
  /** How many runs of this job workflow came before this one (continue-as-new). */
  runs: number;
  /**
   * Indexes whose start was refused by a closed execution of their key that could not be adopted, with how
   * often ([index, count]); absent in older histories.
   */
  refusals?: Array<[number, number]>;
  /** Provider batch mode: the batches queued or in flight, carried across continue-as-new. */
  batches?: JobBatch[];
}

/** A sample a job waits on: the execution's key, and whether this job started it or adopted it. */
export interface InFlightSample {
  index: number;
  sampleKey: string;
  own: boolean;
}

/** Input of sampleWorkflow: one execution of one sample key. */
export interface SampleWorkflowInput {
  version: 1;
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  index: number;
  sampleKey: string;
  inferenceKey: string;
  /** Workflow id of the job that started this execution; it is told of the outcome by signal. */
  parentWorkflowId: string;
  inferenceQueue: string;
  inferTimeoutMs: number;
  scoreInline: boolean;
  retry: RetrySettings;
  mode: RunMode;
  /** A stored result whose prediction is scored instead of calling the model (eval mode, --reuse). */
  predictionFrom?: string | null;
  /** Set for agent tasks: the episode's environment and limits. */
  agent?: AgentRunSettings;
  /** The model call, scored inline, runs as a local activity of this workflow, which runs on the inference queue. */
  localCall?: boolean;
  /**
   * The job that started this execution reads the outcome from its result, so it is signalled only once it
   * asks (reportBySignalSignal, before it continues as new); adopters are always signalled.
   */
  parentReads?: boolean;
}

/** A sample as prepared for a job: its keys, and whether a stored success is reused instead of a run. */
export interface PreparedSample {
  index: number;
  sampleKey: string;
  inferenceKey: string;
  reused: boolean;
  /** A stored result whose prediction this sample scores instead of calling the model. */
  predictionFrom: string | null;
}

/** What a sample execution reports to each job waiting on it. */
export interface SampleOutcome {
  index: number;
  sampleKey: string;
  status: SampleStatus;
  score?: number;
  error?: string;
  /**
   * Set when the failure means the whole job cannot go on (one of JOB_FATAL_ERROR_TYPES, such as an
   * environment that no longer has the task): its error type. The job stops at once and fails.
   */
  fatal?: string;
}

/** What a failed sample's record keeps about the failure: its error type and the attempts made (null: unknown). */
export interface FailureFacts {
  errorType: string | null;
  attempts: number | null;
}

/** A job waiting on a sample execution it did not start (adoption). */
export interface SampleWaiter {
  jobWorkflowId: string;
  assignmentId: string;
  jobId: string;
  index: number;
  /**
   * The waiting job's model and task, when they differ from the execution's own: a job of another task
   * with identical requests (same sample key) adopts it, and its records must name its own task.
   * Absent: the execution's own.
   */
  modelId?: string;
  taskId?: string;
}

/** Progress of one job, as answered by the progress query. */
export interface JobProgress {
  jobId: string;
  modelId: string;
  taskId: string;
  status: AssignmentStatus;
  counts: Counts;
  runs: number;
}

/** Progress of an assignment, as answered by the progress query. */
export interface AssignmentProgress {
  assignmentId: string;
  status: AssignmentStatus;
  paused: boolean;
  jobs: JobProgress[];
}

/** Input of shardWorkflow (`fanout: batch`): one contiguous range of a job's sample indexes. */
export interface ShardWorkflowInput {
  version: 1;
  assignmentId: string;
  job: JobPlan;
  retry: RetrySettings;
  mode: RunMode;
  /** Workflow id of the job; sample records name it as their waiter. */
  jobWorkflowId: string;
  /** First index of the range. */
  start: number;
  /** One past the last index of the range. */
  end: number;
  /** Model calls this shard keeps in flight. */
  calls: number;
  /** The job's counts when the shard started, written to the job document as progress while preparing. */
  counts: Counts;
}

/** A running shard's counts so far, sent by the shard runner to its job. */
export interface ShardProgress {
  /** The shard's first index: names the shard within its job. */
  start: number;
  counts: ShardCounts;
}

/** How the samples of one shard ended. */
export interface ShardCounts {
  succeeded: number;
  failed: number;
  reused: number;
  canceled: number;
}
