import type { TaskConfig } from '../src/config/schema';
import { ErrorTypes } from '../src/contracts';

/**
 * A task's per-sample limits around one model call: the call is aborted when the sample's time runs out,
 * and an answer that used more tokens than the sample may is refused. Either ends the sample as a failed
 * sample with the limit as its error type; neither is retried, since another attempt would cross it again.
 */

/** A sample past one of its limits: permanent, typed EvalTimeLimit or EvalTokenLimit. */
export class SampleLimitError extends Error {
  override name = 'SampleLimitError';
  readonly retryable = false;
  constructor(message: string, readonly type: string) {
    super(message);
  }
}

/** What a limited call must report: the tokens it used. */
interface Used {
  usage: { inputTokens: number; outputTokens: number };
}

/**
 * Runs `call` within the task's limits. `since` is when the sample's first attempt started (epoch ms),
 * so retries and their waits count against the time limit. `signal` is the caller's own abort (a
 * cancel), which stays a cancel: only the limit's own timer makes a time-limit failure.
 */
export async function withinLimits<T extends Used>(task: TaskConfig, since: number, signal: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const limits = task.kind === 'agent' ? undefined : task.limits;
  if (!limits) return call(signal);
  let timer: AbortSignal | undefined;
  if (limits.timeMs !== undefined) {
    const left = since + limits.timeMs - Date.now();
    if (left <= 0) throw timeLimit(task, limits.timeMs);
    timer = AbortSignal.timeout(left);
  }
  let answer: T;
  try {
    answer = await call(timer ? AbortSignal.any([signal, timer]) : signal);
  } catch (err) {
    if (timer?.aborted && !signal.aborted) throw timeLimit(task, limits.timeMs as number);
    throw err;
  }
  if (timer?.aborted && !signal.aborted) throw timeLimit(task, limits.timeMs as number);
  const used = answer.usage.inputTokens + answer.usage.outputTokens;
  if (limits.tokens !== undefined && used > limits.tokens) {
    throw new SampleLimitError(
      `task ${task.id}: the sample used ${used} tokens (${answer.usage.inputTokens} in, ${answer.usage.outputTokens} out), above limits.tokens ${limits.tokens}`,
      ErrorTypes.TokenLimit,
    );
  }
  return answer;
}

function timeLimit(task: TaskConfig, ms: number): SampleLimitError {
  return new SampleLimitError(`task ${task.id}: the sample's model call ran past limits.timeMs ${ms} ms and was aborted`, ErrorTypes.TimeLimit);
}
