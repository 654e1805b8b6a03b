/**
 * Error type names carried by ApplicationFailure.type, so workflows, activities and the CLI agree on
 * what went wrong without sharing classes. Permanent ones are thrown non-retryable.
 */
export const ErrorTypes = {
  /** A config or CLI input that can never work: fix the input. */
  ConfigInvalid: 'EvalConfigInvalid',
  /** A `${NAME}` reference whose variable is not set on the worker. */
  SecretMissing: 'EvalSecretMissing',
  /** The model endpoint rejected the request for good (400/401/403/404/422). */
  ProviderPermanent: 'EvalProviderPermanent',
  /** The model endpoint failed in a way that may pass on retry (429, 5xx, timeout, reset). */
  ProviderRetryable: 'EvalProviderRetryable',
  /** A dataset file is missing, malformed, or changed since the assignment was planned. */
  DatasetInvalid: 'EvalDatasetInvalid',
  /** A scorer could not score a prediction (for instance a judge reply without a grade). */
  ScorerFailed: 'EvalScorerFailed',
  /** The assignment or job does not exist in MongoDB. */
  NotFound: 'EvalNotFound',
  /** The assignment was cancelled: no new model call may start. */
  Canceled: 'EvalCanceled',
  /** A sample used more tokens than its task's `limits.tokens`. */
  TokenLimit: 'EvalTokenLimit',
  /** A sample's model call ran past its task's `limits.timeMs` and was aborted. */
  TimeLimit: 'EvalTimeLimit',
  /** The assignment's `budget` is spent: no new model call may start (retryable: the retry waits for the stop). */
  BudgetExhausted: 'EvalBudgetExhausted',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

/** Error types that retrying cannot fix. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  ErrorTypes.ConfigInvalid,
  ErrorTypes.SecretMissing,
  ErrorTypes.ProviderPermanent,
  ErrorTypes.DatasetInvalid,
  ErrorTypes.NotFound,
  ErrorTypes.Canceled,
  ErrorTypes.TokenLimit,
  ErrorTypes.TimeLimit,
];
