import type { Binary } from 'mongodb';
import type { AssignmentStatus, BatchRequestCounts, CollectBatchResult, Counts, ModelTurn, RemoteBatchStatus, RunMode, SampleStatus } from '../contracts';

/**
 * Shapes of evalctl's MongoDB documents. Every write is an upsert on a deterministic `_id`, so a retried
 * activity writes the same document twice rather than two documents.
 */

/** Aggregate of one metric: mean with a 95% confidence interval. */
export interface MetricSummary {
  /** Samples scored (with epochs: samples with at least one scored epoch). */
  n: number;
  mean: number;
  ci95: [number, number];
  method: string;
  /** Set for a task with epochs: each sample was asked this many times. */
  epochs?: number;
  /** With epochs: how each sample's epoch scores were reduced (mean, max, min, mode, majority, pass@k). */
  reducer?: string;
  /** With epochs: the task's samples (dataset rows), of which `n` were scored. */
  samples?: number;
}

/** Figures computed by finalisation for a job or an assignment. */
export interface JobMetrics {
  score: MetricSummary | null;
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  cost: number;
}

/** One assignment: the config snapshot (secrets as references), its status and counters. */
export interface AssignmentDoc {
  _id: string;
  name: string;
  description?: string;
  /** The validated config, `${NAME}` references unresolved. */
  config: Record<string, unknown>;
  sourcePath?: string;
  /** Where finalisation writes the export (absolute, resolved when the assignment was started); null: none. */
  outputDir?: string | null;
  mode: RunMode;
  reuseFrom?: string | null;
  /** Started with --no-reuse: no stored result of another assignment is reused. */
  noReuse?: boolean;
  workflowId: string;
  status: AssignmentStatus;
  paused: boolean;
  cancelRequested: boolean;
  counts: Counts;
  /** What its model calls had used when its budget ran out (the live figures are in the spend collection). */
  spend?: { cost: number; tokens: number; calls: number };
  /** Set once its budget is spent: why, and when a worker found it. */
  budgetStop?: { reason: string; at: Date };
  /** How many times `evalctl retry` ran this assignment again. */
  retryRuns?: number;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  error?: string;
  updatedAt: Date;
}

/** One (model, task) pair of an assignment. `_id` is `<assignmentId>/<jobId>`. */
export interface JobDoc {
  _id: string;
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  workflowId: string;
  status: AssignmentStatus;
  counts: Counts;
  metrics?: JobMetrics;
  /** Agent tasks: the environment's own overall metric over the job's episodes (calculate_overall). */
  overall?: unknown;
  /** What makes its scores comparable with other jobs of the task (comparableTaskKey), written by planning. */
  taskKey?: string;
  /** The same for people: scorer, samples, dataset hash. */
  taskLabel?: string;
  updatedAt: Date;
}

/** How one sample index of one job of one assignment ended. `_id` is `<assignmentId>/<jobId>/<index>`. */
export interface SampleDoc {
  _id: string;
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  index: number;
  sampleKey: string;
  /** Epoch (1-based) of a task with epochs; absent without epochs. */
  epoch?: number;
  status: SampleStatus;
  score?: number | null;
  passed?: boolean | null;
  /**
   * The result's figures, copied when the record is written with its result, so finalisation aggregates
   * from sample records alone; records without them are completed from the results.
   */
  figures?: ResultFigures;
  /**
   * The searchable text of its result (searchTextOf: bounded, lowercase), copied when the record is written
   * with its result, so finalisation stores a job's text digest from sample records alone.
   */
  text?: string;
  updatedAt: Date;
}

/** A result's accounting, as aggregated per job. */
export interface ResultFigures {
  latencyMs: number | null;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

/** The stored outcome of one request, shared by every assignment that asked for it. `_id` is the sample key. */
export interface ResultDoc {
  _id: string;
  inferenceKey: string;
  /** `inferred`: a prediction stored by the infer stage, not scored yet. */
  status: 'succeeded' | 'failed' | 'canceled' | 'inferred';
  modelId: string;
  taskId: string;
  sampleId: string;
  sampleIndex: number;
  /** Epoch (1-based) of a task with epochs; absent without epochs. */
  epoch?: number;
  input: string;
  /**
   * The chat messages sent to the model, once per sample: each content capped by storedMessages (a cut one
   * ends with a marker and counts the characters cut). Absent for agent tasks (see transcript) and for
   * results stored before messages were kept.
   */
  messages?: StoredMessageDoc[];
  prediction?: string | null;
  target?: unknown;
  score?: { value: number; passed?: boolean; extracted?: string; explanation?: string } | null;
  error?: string | null;
  errorType?: string | null;
  attempts: number;
  latencyMs?: number | null;
  usage?: { inputTokens: number; outputTokens: number } | null;
  cost?: number | null;
  worker?: string;
  startedAt?: Date;
  finishedAt: Date;
  /** Assignments that used this result, executed or reused. */
  assignments: string[];
  /** Agent tasks: the episode's final conversation as the environment holds it (its turns as user, the model's as assistant). */
  transcript?: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  /** Agent tasks: what the model saw (as changes of the previous turn's view) and replied, turn by turn (replayModelTurns). */
  modelTurns?: ModelTurn[];
  /** Agent tasks: times the episode started again from the beginning after its session was lost. */
  restarts?: number;
  /** Agent tasks: why each restart happened. */
  restartReasons?: string[];
  /** Agent tasks: the environment's final status (completed, task limit reached, ...) and own result. */
  episode?: { status: string; result: unknown; turns: number; index: string | number };
  updatedAt: Date;
}

/** One stored chat message: `truncated` counts the characters cut from its content. */
export interface StoredMessageDoc {
  role: 'system' | 'user' | 'assistant';
  content: string;
  truncated?: number;
}

/**
 * A live environment session, written by the task worker that holds it: upserted when it starts and at
 * every turn, removed when it ends or once the environment confirmed its cancel (or said it is gone).
 */
export interface SessionDoc {
  _id: string;
  /** The episode's sample key (`_id` is `<sample key>/<session id>`: an old session being cancelled keeps its entry). */
  sampleKey?: string;
  assignmentId: string;
  taskId: string;
  modelId: string;
  sampleIndex: number;
  environment: string;
  sessionId: string;
  worker: string;
  queue: string;
  turn: number;
  startedAt: Date;
  updatedAt: Date;
}

/** One sample of a job as the viewer filters and sorts it (its digest row). */
export interface JobDigestRow {
  index: number;
  status: SampleStatus;
  score: number | null;
  passed: boolean | null;
  latencyMs: number | null;
  sampleKey: string;
}

/**
 * A part of a finished job's digest, written by finalisation so the viewer reads a job's rows by `_id`
 * (the one lookup FerretDB answers from an index) instead of scanning every sample record. `_id` is
 * `<assignmentId>/<jobId>/<part>`; `version` is the job's `updatedAt` the digest was written with.
 */
export interface DigestDoc {
  _id: string;
  assignmentId: string;
  jobId: string;
  /** `text`: a part of the job's text digest (`<assignmentId>/<jobId>/t<part>`, sample key and searchable text per line). */
  kind?: 'text';
  part: number;
  parts: number;
  total: number;
  version: number;
  /** The part's lines (rows: encodeDigestRows; texts: `<index>\t<text>`), deflated (packLines, src/store/digests.ts). */
  packed?: Binary;
  /** The part's lines as a plain string: parts written before they were deflated. */
  lines?: string;
}

/** One entry of the append-only lifecycle log. */
export interface EventDoc {
  _id: string;
  assignmentId: string;
  type: string;
  at: Date;
  data?: Record<string, unknown>;
}

/** One model's standing on a leaderboard: the score of its latest completed run, with its CI. */
export interface LeaderboardEntry {
  rank: number;
  modelId: string;
  assignmentId: string;
  jobId: string;
  score: MetricSummary;
  counts: Counts;
  endedAt: Date;
  /** Agent tasks: the environment's overall metric of that job (calculate_overall). */
  overall?: unknown;
}

/**
 * The leaderboard of one task as one comparable setup (same samples, prompt and scorer), rebuilt from
 * completed jobs whenever an assignment using the task ends. `_id` is `<taskId>@<start of taskKey>`.
 */
export interface LeaderboardDoc {
  _id: string;
  taskId: string;
  /** comparableTaskKey of every entry; `unknown` for jobs planned before it was recorded. */
  taskKey?: string;
  /** The setup for people, e.g. `exact, 40 samples, data 1a2b3c4d`. */
  taskLabel?: string;
  entries: LeaderboardEntry[];
  /** The assignment whose ending last rebuilt this leaderboard. */
  rebuiltBy: string | null;
  updatedAt: Date;
}

/** The figures a job aggregates, from a result. */
export function figuresOf(doc: Pick<ResultDoc, 'latencyMs' | 'usage' | 'cost'>): ResultFigures {
  return { latencyMs: doc.latencyMs ?? null, inputTokens: doc.usage?.inputTokens ?? 0, outputTokens: doc.usage?.outputTokens ?? 0, cost: doc.cost ?? 0 };
}

/**
 * One provider batch of a job (provider batch mode), `_id` its key (src/contracts/provider-batch.ts). It
 * holds the requests the batch was built with, so a retried submission sends the same ones, and records
 * each step (upload started, file id, create started, remote id) before and after it happens, so a retry
 * after a crash looks on the endpoint for what the lost attempt may have done instead of doing it again.
 */
export interface ProviderBatchDoc {
  _id: string;
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  start: number;
  end: number;
  round: number;
  previousKey?: string;
  /** One request per distinct sample key (its custom_id), with the sample indexes it answers. */
  requests: Array<{ customId: string; indexes: number[] }>;
  /** Indexes of the range answered before (reused), counted once at the first round. */
  reused: number;
  /** Indexes of the range scored from a stored prediction (--reuse) when the batch was built. */
  scored?: number;
  fileId?: string;
  uploadStartedAt?: Date;
  createStartedAt?: Date;
  /** The endpoint's batch id; null when nothing had to be sent. */
  remoteId?: string | null;
  status: RemoteBatchStatus | 'preparing' | 'empty';
  counts?: BatchRequestCounts;
  /** custom_ids the collected batch left unanswered (expired or cancelled before they ran). */
  unanswered?: string[];
  /** How its samples ended, once collected. */
  collected?: CollectBatchResult;
  createdAt: Date;
  updatedAt: Date;
}
