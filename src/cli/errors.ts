/**
 * Errors the CLI shows to people. Only main turns them into exit codes: 2 for bad input, 1 for a failed run.
 */

/** Bad input from the user (a flag, an id, a config): printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** The operation ran but did not succeed (a failed assignment, an unreachable server): exit code 1. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  readonly exitCode = 1;
}
