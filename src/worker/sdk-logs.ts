import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * Messages the Temporal SDK logs as warnings that describe a normal evalctl set-up: an inference or scoring
 * worker registers activities only, so it does not poll for workflow tasks. Shown again with `--verbose`.
 */
const EXPECTED_WARNINGS = [/No workflows registered, not polling for workflow tasks/];

/**
 * SDK messages about one failed attempt of an activity or a sample execution. When the error is one evalctl
 * classified itself (an `Eval...` failure type: a 429 being retried, a permanent 400, a limit), the failure
 * is already recorded where users look (`status`, `watch`, `events`, the sample's record), so the SDK's copy
 * with its stack trace is shown only when verbose. Unclassified errors (a bug, a crash) are always shown.
 */
const RECORDED_FAILURES = new Set(['Activity failed', 'Workflow failed']);

/** True when people asked for everything (`--verbose` or EVALCTL_DEBUG). */
export function verbose(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.EVALCTL_DEBUG && env.EVALCTL_DEBUG !== '0';
}

/** Whether an SDK log entry reaches the terminal: expected warnings and recorded failures only when verbose. */
export function showSdkEntry(entry: Pick<LogEntry, 'message'> & { meta?: LogEntry['meta'] }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (verbose(env)) return true;
  if (EXPECTED_WARNINGS.some((re) => re.test(entry.message))) return false;
  if (!RECORDED_FAILURES.has(entry.message)) return true;
  return !(isClassified(entry.meta?.error) || SAMPLE_WORKFLOWS.has(String(entry.meta?.workflowType)));
}

/**
 * Sample executions fail only after their outcome is stored (workflows/notify.ts closeAs). Their failure's
 * type does not survive the copy out of the workflow thread, so they are known by workflow type.
 */
const SAMPLE_WORKFLOWS = new Set(['sampleWorkflow', 'episodeWorkflow']);

/** Whether an error is a failure evalctl classified (an ApplicationFailure of an `Eval...` type). */
function isClassified(error: unknown): boolean {
  const type = (error as { type?: unknown } | null | undefined)?.type;
  return typeof type === 'string' && type.startsWith('Eval');
}

let installed = false;

/**
 * Installs the SDK runtime with a logger at WARN (EVALCTL_LOG_LEVEL, or DEBUG when verbose) that drops the
 * expected warnings above, so a user's terminal shows what they need. Once per process; an embedding
 * process (tests) that installed its own runtime keeps it.
 */
export function installQuietRuntime(env: NodeJS.ProcessEnv = process.env): void {
  if (installed) return;
  installed = true;
  const level = (env.EVALCTL_LOG_LEVEL ?? (verbose(env) ? 'DEBUG' : 'WARN')) as LogLevel;
  const fallback = new DefaultLogger(level);
  const logger = new DefaultLogger(level, (entry) => {
    if (showSdkEntry(entry, env)) fallback.log(entry.level, entry.message, entry.meta);
  });
  try {
    Runtime.install({ logger });
  } catch {
    // Already installed by the embedding process; keep theirs.
  }
}
