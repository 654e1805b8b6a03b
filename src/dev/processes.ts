import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { pollUntil } from './net';

/**
 * Starts a server in its own process group with output appended to a log file, and lets it outlive us:
 * `dev up` returns while the servers keep running. Resolves to the pid once the process has spawned.
 */
export function spawnDetached(bin: string, args: string[], logFile: string, cwd: string): Promise<number> {
  const fd = openSync(logFile, 'a');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(bin, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    child.once('error', (err) => reject(new Error(`could not start ${bin}: ${err.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid as number);
    });
  }).finally(() => closeSync(fd));
}

/** Process state letter from /proc (Linux), or undefined where /proc is not there. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when the pid runs; a zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X';
}

/**
 * True when the pid still runs the binary we started, so `down` never signals a process that merely
 * inherited a recycled pid. Without /proc (macOS) liveness is all we can check.
 */
export function isOurProcess(pid: number, bin: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return procState(pid) === undefined;
  }
  return cmdline.split('\0')[0] === bin;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the whole group: the server and anything it started
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Stops a server politely (SIGTERM), then firmly (SIGKILL), and resolves only once the pid is gone. */
export async function stopProcess(pid: number, opts: { graceMs?: number; timeoutMs?: number } = {}): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, 'SIGTERM');
  const gone = async (): Promise<true | undefined> => (isAlive(pid) ? undefined : true);
  try {
    await pollUntil(gone, { timeoutMs: opts.graceMs ?? 10_000, intervalMs: 50, what: `pid ${pid} to exit` });
  } catch {
    signal(pid, 'SIGKILL');
    await pollUntil(gone, { timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: 50, what: `pid ${pid} to exit after SIGKILL` });
  }
}

/** Synchronous last-resort kill for process 'exit' hooks, where nothing async can run. */
export function killNow(pid: number): void {
  if (isAlive(pid)) signal(pid, 'SIGKILL');
}

/** The last lines of a server log, quoted in errors so a failed start explains itself. */
export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
