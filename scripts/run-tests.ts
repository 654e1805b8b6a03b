/**
 * The `npm test` runner: builds the server binaries on first use (cached), then hands the compiled test
 * files to `node --test` and exits with its code. `node dist/scripts/run-tests.js [unit|workflow|e2e|chaos|real|TEXT]...`
 * runs a subset: a kind, or files whose path contains TEXT. `chaos` (the long fault-injection suite, `npm run
 * chaos`), `real` (against a real llama.cpp model server, `npm run test:real`) and `guide` (the documented
 * getting-started paths typed as a user would, `npm run test:guide`) run only when named; a short subset of
 * chaos and real is part of e2e. `cluster` (`npm run test:cluster`) runs test/cluster and the e2e files in
 * CLUSTER_E2E on the Temporal server with PostgreSQL (src/dev/cluster.ts) instead of the dev server.
 * `concurrency` (`npm run test:concurrency`) runs test/concurrency: adaptive concurrency shared by two worker
 * processes against a rate-limiting endpoint, about a minute on a loaded machine.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GoToolchainError } from '../src/dev/go';
import { ensureTemporalServer } from '../src/dev/temporal-server';
import { ensureTools, needsFerretdb } from '../src/dev/tools';
import { ensureRealModel, RealModelSetupError } from './real-model';

const KINDS = ['unit', 'workflow', 'e2e', 'chaos', 'real', 'guide', 'cluster', 'concurrency'] as const;
/** The e2e files the cluster suite runs: orchestration, dedup, cancel and pause, worker kills, batch, agents. */
const CLUSTER_E2E = ['orchestration', 'orchestration-faults', 'dedup', 'batch-fanout', 'agent'].map((n) => join('dist', 'test', 'e2e', `${n}.test.js`));
/** Kinds run when none is named: everything but the long fault-injection, real-model and guide suites. */
const DEFAULT_KINDS: readonly string[] = ['unit', 'workflow', 'e2e'];
const ROOT = join(__dirname, '..', '..');

function listTests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listTests(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

/** Compiled tests whose TypeScript source still exists, so a deleted test never runs from a stale dist/. */
function testFiles(kinds: readonly string[]): string[] {
  return kinds
    .flatMap((kind) => listTests(join(ROOT, 'dist', 'test', kind)))
    .filter((file) => existsSync(join(ROOT, relative(join(ROOT, 'dist'), file)).replace(/\.js$/, '.ts')))
    .sort();
}

function select(args: string[]): string[] {
  const kinds = args.filter((a) => (KINDS as readonly string[]).includes(a));
  const texts = args.filter((a) => !(KINDS as readonly string[]).includes(a));
  const files = testFiles(kinds.length ? kinds : DEFAULT_KINDS);
  if (kinds.includes('cluster')) files.push(...CLUSTER_E2E.map((f) => join(ROOT, f)).filter((f) => existsSync(f)));
  return texts.length ? files.filter((f) => texts.some((t) => relative(ROOT, f).includes(t))) : files;
}

function runNodeTest(files: string[]): Promise<number> {
  // Fault-injection files measure recovery times, and the guide's files each run whole stacks and demos:
  // one at a time, so they do not slow each other down.
  const chaos = files.some((f) => ['chaos', 'guide'].some((k) => relative(ROOT, f).startsWith(join('dist', 'test', k))));
  const args = ['--test', `--test-concurrency=${chaos ? 1 : 2}`, ...files];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const files = select(process.argv.slice(2));
  if (files.length === 0) {
    process.stderr.write(`run-tests: no test files matched ${process.argv.slice(2).join(' ') || '(all)'}; run npm run build first\n`);
    return 1;
  }
  const needServers = files.some((f) => !relative(ROOT, f).startsWith(join('dist', 'test', 'unit')));
  if (needServers) {
    const started = Date.now();
    await ensureTools({ ferretdb: needsFerretdb() });
    if (process.argv.includes('cluster')) await prepareCluster();
    process.stderr.write(`run-tests: server binaries ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  }
  if (files.some((f) => f.includes('real-model') && !relative(ROOT, f).startsWith(join('dist', 'test', 'unit')))) await prepareRealModel();
  if (files.some((f) => f.includes('web-ui'))) await ensureChromium();
  return runNodeTest(files);
}

/**
 * Installs the real model server once, here rather than in a test's before hook, so its time is not a
 * test's time. When it cannot be installed the other tests still run: the real-model tests fail, saying why.
 */
async function prepareRealModel(): Promise<void> {
  const started = Date.now();
  try {
    await ensureRealModel();
    process.stderr.write(`run-tests: real model server ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  } catch (err) {
    if (!(err instanceof RealModelSetupError)) throw err;
    process.stderr.write(`run-tests: the real model server could not be installed, its tests will fail: ${err.message}\n`);
  }
}

/** The cluster suite: PostgreSQL 15 (installed by the script when missing) and the Temporal server, built once. */
async function prepareCluster(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'ensure-postgresql.sh')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/ensure-postgresql.sh failed (exit ${code}); the cluster suite needs PostgreSQL 15`))));
  });
  await ensureTemporalServer();
  process.env.EVALCTL_TEST_CLUSTER = '1';
}

/** The browser test needs Debian's chromium; the script installs it once (root + apt-get) or says why it cannot. */
function ensureChromium(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'ensure-chromium.sh')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/ensure-chromium.sh failed (exit ${code}); the Web UI test needs /usr/bin/chromium`))));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`run-tests: ${err instanceof GoToolchainError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
