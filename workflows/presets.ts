import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES, ORCHESTRATOR_QUEUE, SCORING_QUEUE, environmentQueue, type RetrySettings } from '../src/contracts';

/**
 * Activity option presets, in one place: short database calls, and long model calls that heartbeat.
 * Every preset has a start-to-close timeout.
 */

/** Database work: fast, retried for as long as MongoDB is away (a restart must lose nothing). */
export const DB_ACTIVITY: ActivityOptions = {
  taskQueue: ORCHESTRATOR_QUEUE,
  startToCloseTimeout: '60s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
};

/** Short database work done inside the workflow's own worker, without a round trip through the server. */
export const LOCAL_DB_ACTIVITY: LocalActivityOptions = {
  startToCloseTimeout: '60s',
  retry: DB_ACTIVITY.retry,
};

/** Planning and finalisation read whole datasets or result sets: longer, and they heartbeat. */
export const LONG_DB_ACTIVITY: ActivityOptions = {
  ...DB_ACTIVITY,
  startToCloseTimeout: '30m',
  heartbeatTimeout: '60s',
};

/** The retry policy of a model call, from the config's `retry` section. */
export function modelRetryPolicy(retry: RetrySettings): RetryPolicy {
  return {
    maximumAttempts: retry.maxAttempts,
    initialInterval: retry.initialIntervalMs,
    backoffCoefficient: retry.backoffCoefficient,
    maximumInterval: retry.maxIntervalMs,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
}

/** A model call: long, heartbeating so cancel and crashed workers are seen within seconds. */
export function inferActivity(queue: string, timeoutMs: number, retry: RetrySettings): ActivityOptions {
  return {
    taskQueue: queue,
    startToCloseTimeout: timeoutMs + 30_000,
    heartbeatTimeout: '10s',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: modelRetryPolicy(retry),
  };
}

/**
 * The model call of the local path (JobPlan.localCall), scored and stored, as a local activity of the sample
 * workflow on the inference queue. A cancel reaches it only with the workflow's next task, so the activity
 * also watches the assignment's cancel flag itself; a cancel that does reach it aborts the call, waited for.
 */
export function localCallActivity(timeoutMs: number, retry: RetrySettings): LocalActivityOptions {
  return {
    startToCloseTimeout: timeoutMs + 30_000,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: modelRetryPolicy(retry),
  };
}

/**
 * The workflow task timeout of a sample workflow on the local path. A worker lost during a call is noticed
 * this long after; a call longer than 80% of it keeps its task alive with an empty task completion (three
 * history events each). Twice the default 10 s, so a worker slowed by a loaded machine does not miss that
 * heartbeat and have its task, and so its call, run again elsewhere while the first call still runs.
 */
export const LOCAL_SAMPLE_TASK_TIMEOUT = '20s';

/** Scoring plus storing the result: a judge model may take long, so it heartbeats too. */
export function scoreActivity(retry: RetrySettings): ActivityOptions {
  return {
    taskQueue: SCORING_QUEUE,
    startToCloseTimeout: '10m',
    heartbeatTimeout: '30s',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { ...modelRetryPolicy(retry), maximumAttempts: Math.max(retry.maxAttempts, 10) },
  };
}

/**
 * Starting an environment session, on the environment's shared queue: it waits for any task worker, and a
 * worker without a free session slot (or an AgentBench 406) answers "no capacity", retried until one has.
 */
export function sessionStartActivity(environment: string): ActivityOptions {
  return {
    taskQueue: environmentQueue(environment),
    startToCloseTimeout: '5m',
    heartbeatTimeout: '10s',
    cancellationType: 'TRY_CANCEL',
    retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '5s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  };
}

/**
 * A turn of a session, on the queue of the one worker holding it. A short schedule-to-start and heartbeat
 * timeout tell within seconds that the worker is gone; it is never retried, since a step changes the
 * environment: a lost session means the episode starts again elsewhere.
 */
export function sessionTurnActivity(queue: string, timeoutMs: number): ActivityOptions {
  return {
    taskQueue: queue,
    scheduleToStartTimeout: '10s',
    startToCloseTimeout: timeoutMs,
    heartbeatTimeout: '10s',
    cancellationType: 'TRY_CANCEL',
    retry: { maximumAttempts: 1 },
  };
}

/**
 * Cancelling a session: the activity retries the environment's cancel itself until it is confirmed or the
 * session is gone, for up to `untilMs`. On the holding worker's queue a short schedule-to-start tells that
 * the worker is gone; on the environment's shared queue any task worker of the environment may do it.
 */
export function sessionCancelActivity(queue: string, untilMs: number, shared: boolean): ActivityOptions {
  return {
    taskQueue: queue,
    ...(shared ? { scheduleToCloseTimeout: untilMs + 60_000 } : { scheduleToStartTimeout: '10s' }),
    startToCloseTimeout: untilMs + 30_000,
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: shared ? 3 : 1 },
  };
}

/**
 * A shard runner (batch fan-out): one activity running a whole shard's model calls, for as long as that
 * takes. It heartbeats every second with its checkpoint, so a lost worker is noticed within 20 s and the
 * next attempt resumes from the checkpoint; attempts are not limited (per-call retries happen inside).
 */
export function shardRunnerActivity(queue: string): ActivityOptions {
  return {
    taskQueue: queue,
    startToCloseTimeout: '30d',
    heartbeatTimeout: '20s',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  };
}

/**
 * Provider batch steps (submit, poll, collect, cancel) on the model's inference queue, where the key is.
 * They heartbeat, so a lost worker is noticed within 10 s; retries are not limited, since each step is
 * idempotent (a retried submission finds what a lost attempt created) and an endpoint away for an hour
 * must not lose the batch. Permanent errors (a rejected key or file) end the retries.
 */
export function providerBatchActivity(queue: string, startToCloseMs: number): ActivityOptions {
  return {
    taskQueue: queue,
    startToCloseTimeout: startToCloseMs,
    heartbeatTimeout: '10s',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  };
}
