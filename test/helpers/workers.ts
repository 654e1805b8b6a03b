import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cli';
import type { TestStack } from './stack';
import { waitFor } from './wait';

/** The environment that points evalctl commands and workers at a test stack. */
export function stackEnv(stack: TestStack, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_NAMESPACE: stack.namespace,
    EVALCTL_MONGO_URL: stack.mongoUrl,
    EVALCTL_UI_URL: stack.uiUrl,
    // No automatic export folder (by default in the working directory) unless a test asks for one.
    EVALCTL_EXPORT: '0',
    ...extra,
  };
}

/** A worker running as its own process, as in production, so tests can SIGKILL it. */
export interface WorkerProcess {
  proc: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `evalctl worker <type>` and resolves once it reports ready. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, type = 'all', args: string[] = []): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [join(repoRoot(), 'bin', 'evalctl.js'), 'worker', type, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`worker exited early (${proc.exitCode}):\n${out}`);
    return out.includes('worker ready');
  }, { timeoutMs: 60_000, message: 'the worker to report ready' }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return {
    proc,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
