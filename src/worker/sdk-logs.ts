import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

/**
 * Messages the Temporal SDK logs as warnings that describe a normal evalctl set-up: an inference or scoring
 * worker registers activities only, so it does not poll for workflow tasks. Shown again with `--verbose`.
 */
const EXPECTED_WARNINGS = [/No workflows registered, not polling for workflow tasks/];

/** True when people asked for everything (`--verbose` or EVALCTL_DEBUG). */
export function verbose(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.EVALCTL_DEBUG && env.EVALCTL_DEBUG !== '0';
}

/** Whether an SDK log entry reaches the terminal: expected warnings only when verbose. */
export function showSdkEntry(entry: Pick<LogEntry, 'message'>, env: NodeJS.ProcessEnv = process.env): boolean {
  return verbose(env) || !EXPECTED_WARNINGS.some((re) => re.test(entry.message));
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
