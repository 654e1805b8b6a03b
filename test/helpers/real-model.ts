import { after, before } from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureRealModel, startRealModelServer, type RealModelServer, type RealModelServerOptions } from '../../scripts/real-model';
import type { JobDoc, ResultDoc } from '../../src/store/documents';
import type { Store } from '../../src/store/store';
import { runCli, startAssignment } from './cli';
import type { TestStack } from './stack';
import { startWorkerProcess, stackEnv } from './workers';

/**
 * Registers before/after hooks that start one llama.cpp server on the cached real model for the test file
 * (installing it on first use) and always stop it. Returns a getter to call inside tests.
 */
export function useRealModelServer(opts: RealModelServerOptions = {}): () => RealModelServer {
  let server: RealModelServer | undefined;
  before(async () => {
    const install = await ensureRealModel();
    server = await startRealModelServer(install, opts);
    process.stderr.write(`real model: ${server.model} at ${server.baseUrl}, started in ${(server.startMs / 1000).toFixed(1)}s (ctx ${server.ctxSize})\n`);
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the real model server is not running: call useRealModelServer() at the top of the file');
    return server;
  };
}

/** One sample of a real-model assignment: its id, the user turn, and a target for the includes scorer. */
export interface RealSample {
  id: string;
  question: string;
  target: string;
}

/** A model of a real-model assignment: its id and generation parameters. */
export interface RealModelEntry {
  id: string;
  params: Record<string, unknown>;
}

/**
 * Writes a one-task assignment over the given samples against the running server through the `openai`
 * provider (one model per entry, one call at a time) and returns its path. The retry policy is the default
 * one. Failed samples never fail the run: the tests look at each stored result themselves.
 */
export function writeRealModelConfig(dir: string, name: string, server: RealModelServer, models: RealModelEntry[], samples: RealSample[]): string {
  const data = join(dir, `${name}.jsonl`);
  writeFileSync(data, `${samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
  const config = {
    name,
    models: models.map((m) => ({
      id: m.id,
      provider: { kind: 'openai', baseUrl: server.baseUrl, model: server.model },
      params: m.params,
      concurrency: 1,
      timeoutMs: 120_000,
    })),
    tasks: [{ id: 'chat', dataset: { path: data }, prompt: '{{question}}', scorer: { kind: 'includes' } }],
    failOnError: false,
  };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** A user turn longer than any small context: about 1.5 tokens per repetition on Gemma's tokenizer. */
export function overlongQuestion(ctxSize: number): string {
  return `${'lorem ipsum '.repeat(ctxSize)}\nSummarize the text above.`;
}

/** A finished real-model assignment: its id, status, jobs and every stored result with its sample id. */
export interface RealRun {
  assignmentId: string;
  status: string;
  /** Wall time from `start` to the end of `watch`. */
  ms: number;
  jobs: JobDoc[];
  results: ResultDoc[];
}

/**
 * Runs an assignment through the real stack: `evalctl worker all` as its own process, `start`, `watch`
 * until it ends, then reads what MongoDB holds for it. The worker is always stopped.
 */
export async function runRealAssignment(stack: TestStack, store: Store, config: string): Promise<RealRun> {
  const env = stackEnv(stack);
  const worker = await startWorkerProcess(env);
  try {
    const started = Date.now();
    const assignmentId = await startAssignment(env, config);
    const watched = await runCli(['watch', assignmentId], { env, timeoutMs: 300_000 });
    const ms = Date.now() - started;
    const assignment = await store.assignments.findOne({ _id: assignmentId });
    if (!assignment) throw new Error(`assignment ${assignmentId} not found after watch (exit ${watched.code}): ${watched.stderr}`);
    const samples = await store.samples.find({ assignmentId }).toArray();
    const results = await store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
    const jobs = await store.jobs.find({ assignmentId }).toArray();
    return { assignmentId, status: assignment.status, ms, jobs, results };
  } finally {
    await worker.kill();
  }
}

/** One error line of the server's log and when it was written (wall clock, ms). */
export interface ServerLogError {
  at: number;
  line: string;
}

/**
 * Error lines of the server's log that contain `text`, oldest first. llama.cpp stamps each line with the
 * time since it started (minutes.seconds.milliseconds.microseconds), which starts a little after the spawn,
 * so `at` is early by the Python start-up at most.
 */
export function serverErrors(server: RealModelServer, text: string): ServerLogError[] {
  return readFileSync(server.logFile, 'utf8').split('\n').filter((l) => l.includes(text)).map((line) => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+) /.exec(line);
    const since = m ? Number(m[1]) * 60_000 + Number(m[2]) * 1000 + Number(m[3]) + Number(m[4]) / 1000 : 0;
    return { at: server.spawnedAt + since, line };
  });
}
