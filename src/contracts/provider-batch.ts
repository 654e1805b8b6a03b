import type { Counts } from './status';

/**
 * What the provider batch path shares between its workflow (workflows/provider-batch.ts), its activities
 * (activities/provider-batch.ts) and the CLI: settings planned per job, the small state the job keeps per
 * batch, and what each activity answers. Everything here is ids and counts: no request content, no secret.
 */

/** A model's `provider.batch` settings as a job carries them. */
export interface ProviderBatchSettings {
  maxRequests: number;
  pollIntervalMs: number;
  maxWaitMs: number;
  maxResubmits: number;
  maxInFlight: number;
}

/** The states of an OpenAI batch object (openai-node resources/batches.d.ts, `Batch.status`). */
export type RemoteBatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Remote states after which a batch changes no more: its output and error files can be collected. */
export const ENDED_BATCH_STATUSES: readonly RemoteBatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

/** A batch's request counts as the endpoint reports them (`Batch.request_counts`). */
export interface BatchRequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/**
 * One batch of a job as the job workflow tracks it: a range of sample indexes and a round (0 for the first
 * submission, n for the n-th resubmission of what an expired batch left unanswered). `key` names it for
 * good: it is the batch's `_id` in MongoDB and its metadata on the endpoint, so a retried submission finds
 * the batch an earlier attempt created instead of creating a second.
 */
export interface JobBatch {
  key: string;
  start: number;
  end: number;
  round: number;
  /** The key of the batch whose unanswered requests this one resubmits (rounds above 0). */
  previousKey?: string;
  /** The endpoint's batch id once submitted; null when every request of the range was answered already. */
  remoteId?: string | null;
  /** Requests sent in this batch (distinct sample keys). */
  requests?: number;
  /** Sample indexes those requests answer. */
  indexes?: number;
  status?: RemoteBatchStatus;
  /** When the batch was submitted (workflow time, ms since the epoch), for maxWaitMs. */
  submittedAt?: number;
  /** Set once evalctl has asked the endpoint to cancel it (maxWaitMs passed). */
  cancelAsked?: boolean;
}

/** Input of submitProviderBatch. */
export interface SubmitBatchInput {
  assignmentId: string;
  job: { jobId: string; modelId: string; taskId: string };
  mode: 'all' | 'infer';
  batch: JobBatch;
  /** The job workflow's id: sample records name it as their waiter. */
  jobWorkflowId: string;
  /** The job's counts, written to the job document as progress. */
  counts?: Counts;
}

/** What submitProviderBatch answers: the endpoint's batch id (null: nothing to send) and how many samples were reused. */
export interface SubmitBatchResult {
  remoteId: string | null;
  /** Requests in the batch (distinct sample keys). */
  requests: number;
  /** Sample indexes those requests answer. */
  indexes: number;
  /** Sample indexes of the range whose answer was stored already (rounds above 0: none). */
  reused: number;
  /** Sample indexes scored from a stored prediction (--reuse) instead of being sent. */
  scored: number;
  status: RemoteBatchStatus | null;
  /** Nothing was sent: the assignment is paused or being cancelled. */
  held?: boolean;
}

/** What pollProviderBatches answers per batch key. */
export interface PolledBatch {
  key: string;
  status: RemoteBatchStatus;
  counts: BatchRequestCounts;
}

/** Input of collectProviderBatch: which batch, and what its unanswered requests become. */
export interface CollectBatchInput {
  assignmentId: string;
  jobId: string;
  jobWorkflowId: string;
  mode: 'all' | 'infer';
  key: string;
  /**
   * What a request left unanswered becomes: `resubmit` leaves it for the next round, `failed` stores it
   * failed (rounds used up), `canceled` stores it canceled (the job was cancelled).
   */
  unanswered: 'resubmit' | 'failed' | 'canceled';
  /** Fails every request of the batch with this error instead (its submission failed for good). */
  failWith?: string;
}

/** How the samples of one collected batch ended (sample indexes, so a duplicated request counts per index). */
export interface CollectBatchResult {
  succeeded: number;
  failed: number;
  canceled: number;
  /** Indexes left for a resubmission (only with `unanswered: resubmit`). */
  unanswered: number;
}

/** Input of cancelProviderBatch: asks the endpoint to cancel, and waits up to `waitMs` for it to end. */
export interface CancelBatchInput {
  assignmentId: string;
  jobId: string;
  key: string;
  waitMs: number;
}

/** Metadata key on the endpoint's batch object that carries the batch's key. */
export const BATCH_KEY_METADATA = 'evalctl_batch_key';
