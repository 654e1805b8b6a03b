import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, found from the compiled test file so tests run the real `bin/evalctl.js`. */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'bin', 'evalctl.js'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no evalctl repository above ${from}`);
    dir = parent;
  }
  return dir;
}

/** What one CLI run printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/evalctl.js ...args` as a user would and never rejects on a non-zero exit, so tests
 * assert on the exit code itself. A timeout kills the CLI and fails loudly.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const bin = join(repoRoot(), 'bin', 'evalctl.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 180_000, ...(opts.cwd ? { cwd: opts.cwd } : {}) }, (err, stdout, stderr) => {
      if (err && err.killed) return reject(new Error(`evalctl ${args.join(' ')} timed out\n${stderr}`));
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `evalctl start <config> --json` that must succeed; the new assignment's id. */
export async function startAssignment(env: NodeJS.ProcessEnv, config: string): Promise<string> {
  const res = await runCli(['start', config, '--json'], { env });
  if (res.code !== 0) throw new Error(`evalctl start ${config} exited ${res.code}: ${res.stderr}`);
  return (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
}
