import { ErrorTypes } from '../contracts/errors';
import type { Sample } from '../datasets/types';

/** The result of scoring one prediction. */
export interface Score {
  /** 0..1 for pass/fail and graded scorers; continuous for others. */
  value: number;
  passed?: boolean;
  /** What the scorer read from the prediction (a letter, a number, a regex group). */
  extracted?: string;
  explanation?: string;
}

/** What a scorer looks at. */
export interface ScoreInput {
  prediction: string;
  target: unknown;
  sample: Sample;
}

/** Per-call context: cancellation and the worker's environment (judge keys, command env). */
export interface ScoreContext {
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** A scorer: a prediction and its target in, a score out. */
export interface Scorer {
  score(input: ScoreInput, ctx: ScoreContext): Promise<Score>;
}

/** A prediction could not be scored (a judge reply without a grade, a non-numeric target). */
export class ScorerError extends Error {
  override name = 'ScorerError';
  readonly type = ErrorTypes.ScorerFailed;
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}
