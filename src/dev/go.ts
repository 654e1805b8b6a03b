import { spawn } from 'node:child_process';

/** A Go toolchain version, compared numerically (go1.25.0 > go1.9). */
export interface GoVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Oldest Go that builds both servers: the Temporal CLI v1.5.1 module declares `go 1.25.0`. */
export const MIN_GO_VERSION: GoVersion = { major: 1, minor: 25, patch: 0 };

/** Raised when Go is missing or too old; its message tells people what to install or point at instead. */
export class GoToolchainError extends Error {
  override name = 'GoToolchainError';
}

/**
 * Reads the version out of `go version` output ("go version go1.26.8 linux/amd64"); pre-releases such
 * as go1.25rc1 count as their release. Returns undefined for anything else.
 */
export function parseGoVersion(output: string): GoVersion | undefined {
  const m = /\bgo(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? 0 : Number(m[3]) };
}

/** True when `v` is at least `min`. */
export function goVersionAtLeast(v: GoVersion, min: GoVersion): boolean {
  if (v.major !== min.major) return v.major > min.major;
  if (v.minor !== min.minor) return v.minor > min.minor;
  return v.patch >= min.patch;
}

/** Formats a version the way Go prints it. */
export function formatGoVersion(v: GoVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The advice printed whenever the servers cannot be built, shared so every path says the same thing. */
export function goHelpMessage(problem: string): string {
  const min = formatGoVersion(MIN_GO_VERSION);
  return (
    `${problem}\n` +
    `evalctl builds its local Temporal dev server and FerretDB from their Go modules and needs Go >= ${min} ` +
    `(https://go.dev/doc/install, or a golang-${MIN_GO_VERSION.major}.${MIN_GO_VERSION.minor} package).\n` +
    `Alternatively point evalctl at servers you already have: EVALCTL_TEMPORAL_BIN=/path/to/temporal ` +
    `(a Temporal CLI) and EVALCTL_MONGO_URL=mongodb://host:27017/evalctl (a running MongoDB).`
  );
}

/** Result of running a command to completion with its output captured. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command and captures its output; `onStderr` sees stderr as it arrives (build progress). */
export function runCaptured(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onStderr?: (chunk: string) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      opts.onStderr?.(s);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Checks that a recent enough `go` is on PATH, or throws a GoToolchainError that says what to do. */
export async function requireGo(env: NodeJS.ProcessEnv = process.env): Promise<GoVersion> {
  let out: RunResult;
  try {
    out = await runCaptured('go', ['version'], { env });
  } catch {
    throw new GoToolchainError(goHelpMessage('Go was not found on PATH.'));
  }
  const version = parseGoVersion(out.stdout);
  if (out.code !== 0 || !version) {
    throw new GoToolchainError(goHelpMessage(`\`go version\` failed: ${out.stderr.trim() || out.stdout.trim()}`));
  }
  if (!goVersionAtLeast(version, MIN_GO_VERSION)) {
    throw new GoToolchainError(goHelpMessage(`Go ${formatGoVersion(version)} is too old.`));
  }
  return version;
}
