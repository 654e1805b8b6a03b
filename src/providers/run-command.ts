import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { abortedError, ProviderError } from './errors';

/** Exit code a command uses to say "this input can never work": the error is permanent, not retried. */
export const PERMANENT_EXIT_CODE = 2;
/** Bytes of stderr kept for error messages (the tail: the end says what went wrong). */
const STDERR_TAIL = 4000;
/** Bytes of stdout accepted: a prediction, not a data dump. */
const MAX_STDOUT = 16 * 1024 * 1024;

/** One run of a JSON-speaking program. */
export interface CommandRun {
  argv: readonly string[];
  /** Written to stdin, then stdin is closed. */
  input: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Name used in errors ("command provider m1"). */
  what: string;
  /** Called with the child's pid once it has started (tests use it to prove the kill). */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs a program without a shell, in its own process group so a timeout or an abort kills it and
 * everything it started (SIGKILL to the group). Resolves to stdout on exit 0. Exit code 2 is a permanent
 * error; any other failure (non-zero exit, signal, timeout) is retryable. Errors carry the stderr tail.
 */
export function runCommand(run: CommandRun): Promise<string> {
  return new Promise((resolve, reject) => {
    if (run.signal.aborted) return reject(abortedError(run.what));
    const child = spawn(run.argv[0], run.argv.slice(1), { cwd: run.cwd, env: run.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let outcome: ProviderError | undefined;
    const killGroup = (why: ProviderError): void => {
      outcome ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const output = collectOutput(child, () => killGroup(new ProviderError(`${run.what} wrote more than ${MAX_STDOUT} bytes to stdout`, { retryable: false })));
    const onAbort = (): void => killGroup(abortedError(run.what));
    const timer = setTimeout(
      () => killGroup(new ProviderError(`${run.what} timed out after ${run.timeoutMs} ms${tail(output.stderr())}`, { retryable: true })),
      run.timeoutMs,
    );
    run.signal.addEventListener('abort', onAbort, { once: true });
    child.on('spawn', () => child.pid !== undefined && run.onSpawn?.(child.pid));
    // The program may exit without reading stdin; that is its business, not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(run.input);
    const finish = (err: ProviderError | undefined, out?: string): void => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(out ?? '');
    };
    child.on('error', (err) => finish(new ProviderError(`${run.what} could not start ${run.argv[0]}: ${err.message}`, { retryable: false, cause: err })));
    child.on('close', (code, signal) => {
      if (outcome) return finish(outcome);
      if (code === 0) return finish(undefined, output.stdout());
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      finish(new ProviderError(`${run.what} ${how}${tail(output.stderr())}`, { retryable: code !== PERMANENT_EXIT_CODE }));
    });
  });
}

/** Collects stdout (up to a cap; `onOverflow` past it) and the tail of stderr. */
function collectOutput(child: ChildProcessWithoutNullStreams, onOverflow: () => void): { stdout(): string; stderr(): string } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_STDOUT) onOverflow();
    else chunks.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  return { stdout: () => Buffer.concat(chunks).toString('utf8'), stderr: () => stderr };
}

function tail(stderr: string): string {
  const text = stderr.trim();
  return text ? `; stderr: ${text}` : '';
}
