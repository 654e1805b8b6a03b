/**
 * `npm run bench`: how much durability costs. Starts a private stack and an all-in-one worker process, runs
 * one assignment per fan-out against a model with a fixed latency L at concurrency C, and the same model
 * through a plain in-process promise pool of C (the ideal). The model is, by default, the real `openai`
 * provider against an OpenAI-compatible endpoint on loopback (scripts/bench/endpoint.ts, a process of its
 * own); `--provider simulated` uses the in-process simulated provider. Reports throughput, efficiency,
 * the peak of calls in flight, orchestration overhead and history events per sample, and peak RSS and CPU
 * per sample of every process.
 *
 *   npm run bench -- [--latency 1000] [--concurrency 64] [--samples 2000] [--provider http|simulated]
 *                    [--fanout per-sample|batch|default|both|all] [--server dev|cluster] [--zero-latency]
 *                    [--out bench-results] [--keep] [--cpu-prof]
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { censusOf, runnerStarts, sampleTiming, shardActivityStarts } from './bench/measure';
import { loadAverage, ProcSampler, round } from './bench/proc-stats';
import { markdownTable, writeReport, type BenchReport, type FanoutResult } from './bench/report';
import { runAssignment, startBenchStack, startWorkerProcess, workDir, type AssignmentRun, type BenchServer, type BenchStack } from './bench/harness';
import { runIdeal, writeWorkloadConfig, type Workload } from './bench/workload';
import { startEndpoint, windowLoss, type EndpointProc, type EndpointStats } from './bench/endpoint';

/** What `--fanout` runs: one fan-out, both, or both and a config that names none (`default`). */
const FANOUTS: Record<string, Array<Workload['fanout']>> = {
  'per-sample': ['per-sample'], batch: ['batch'], default: ['default'], both: ['per-sample', 'batch'], all: ['per-sample', 'batch', 'default'],
};

/** Parsed bench flags. */
export interface BenchOptions {
  latencyMs: number;
  concurrency: number;
  /**
   * 2,000 by default: at L = 1 s and C = 64 the ideal takes about 31 s (31 rounds of calls), so a second of
   * ramp-up or tail moves efficiency by ~3%, resolvable, while both fan-outs finish in about two minutes.
   */
  samples: number;
  fanouts: Array<Workload['fanout']>;
  /** `http`: the `openai` provider against the bench's endpoint; `simulated`: the in-process simulated provider. */
  provider: 'http' | 'simulated';
  /** `dev`: the Temporal CLI's dev server; `cluster`: the Temporal server with PostgreSQL and 4 history shards. */
  server: BenchServer;
  zeroLatency: boolean;
  out: string;
  keep: boolean;
  cpuProf: boolean;
}

/** Reads the command line; unknown flags are errors. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      latency: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '64' },
      samples: { type: 'string', default: '2000' },
      fanout: { type: 'string', default: 'both' },
      provider: { type: 'string', default: 'http' },
      'zero-latency': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results' },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      server: { type: 'string', default: 'dev' },
    },
  });
  const fanout = values.fanout;
  const fanouts = FANOUTS[fanout];
  if (!fanouts) throw new Error(`--fanout takes ${Object.keys(FANOUTS).join(', ')}`);
  const provider = values.provider;
  if (provider !== 'http' && provider !== 'simulated') throw new Error('--provider takes http or simulated');
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number >= ${min}`);
    return n;
  };
  const server = values.server;
  if (server !== 'dev' && server !== 'cluster') throw new Error('--server takes dev or cluster');
  const zeroLatency = values['zero-latency'];
  return {
    latencyMs: zeroLatency ? 0 : num('latency', values.latency, 0),
    concurrency: num('concurrency', values.concurrency, 1),
    samples: num('samples', values.samples, 1),
    fanouts, provider, server,
    zeroLatency, out: values.out, keep: values.keep, cpuProf: values['cpu-prof'],
  };
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** The endpoint of an HTTP bench run, when there is one: its process is measured like the others. */
async function endpointFor(opts: BenchOptions): Promise<EndpointProc | undefined> {
  return opts.provider === 'http' ? startEndpoint(opts.latencyMs) : undefined;
}

/**
 * Efficiency of a run: for the HTTP endpoint, the ideal time (ceil(N / C) rounds of L) over the span the
 * endpoint saw from the first request to the last answer; for the simulated provider, throughput against
 * the in-process ideal's.
 */
function efficiencyOf(opts: BenchOptions, seen: EndpointStats | undefined, throughput: number, idealThroughput: number): number {
  if (seen && opts.latencyMs > 0) {
    const ideal = Math.ceil(opts.samples / opts.concurrency) * opts.latencyMs;
    return round(ideal / Math.max(1, seen.lastAnswer - seen.firstArrival), 4);
  }
  return round(throughput / idealThroughput, 4);
}

/** Runs one fan-out's assignment with a fresh worker process, measuring every process meanwhile. */
async function benchFanout(stack: BenchStack, opts: BenchOptions, fanout: Workload['fanout'], idealThroughput: number): Promise<FanoutResult> {
  const dir = workDir('evalctl-bench-work-');
  const salt = `${fanout}-${Date.now()}`;
  const endpoint = await endpointFor(opts);
  const config = writeWorkloadConfig(dir, `bench-${fanout}`, { samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, fanout, salt, baseUrl: endpoint?.baseUrl });
  const nodeArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(opts.out, 'profiles')}`] : [];
  const worker = await startWorkerProcess(stack.env, opts.concurrency, nodeArgs);
  const sampler = new ProcSampler({ worker: worker.pid, ...stack.serverPids, ...(endpoint ? { endpoint: endpoint.pid } : {}) }, stack.serverTrees);
  sampler.start();
  let measured: ReturnType<ProcSampler['stop']>;
  let run: AssignmentRun;
  let seen: EndpointStats | undefined;
  try {
    run = await runAssignment(stack, config, `bench-${fanout}-${Date.now()}`);
    seen = await endpoint?.stats();
  } finally {
    // CPU is read before the worker exits: a process that is gone has no /proc entry.
    measured = sampler.stop();
    await worker.stop();
    await endpoint?.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  log(`${fanout}: ${run.status} in ${((run.closedAt - run.startedAt) / 1000).toFixed(1)} s; measuring`);
  return resultOf(stack, opts, fanout, run, measured, seen, idealThroughput);
}

/** Reads the run's histories and stored results and puts the figures together. */
async function resultOf(
  stack: BenchStack, opts: BenchOptions, fanout: Workload['fanout'], run: AssignmentRun,
  measured: ReturnType<ProcSampler['stop']>, seen: EndpointStats | undefined, idealThroughput: number,
): Promise<FanoutResult> {
  const census = await censusOf(stack.temporal, run.assignmentId);
  let starts = census.shardIds.length > 0 ? await shardActivityStarts(stack.temporal, census.shardIds) : census.sampleStarts;
  if (census.shardIds.length > 0 && starts.size === 0) starts = await runnerStarts(stack.store, run.assignmentId);
  const timing = await sampleTiming(stack.store, starts);
  const seconds = (Math.max(timing.lastFinish, run.startedAt) - run.startedAt) / 1000;
  const throughput = seconds > 0 ? opts.samples / seconds : 0;
  const endToEndSeconds = (run.closedAt - run.startedAt) / 1000;
  const perSample = (cpuSeconds: number): number => round((cpuSeconds * 1000) / opts.samples, 1);
  return {
    fanout, ranAs: census.shardIds.length > 0 ? 'batch' : 'per-sample', assignmentId: run.assignmentId, status: run.status,
    seconds: round(seconds), throughput: round(throughput), endToEndSeconds: round(endToEndSeconds),
    endToEndThroughput: round(opts.samples / endToEndSeconds), efficiency: efficiencyOf(opts, seen, throughput, idealThroughput),
    inFlightPeak: seen?.peakInFlight ?? timing.inFlightPeak,
    measured: timing.measured, overheadP50Ms: timing.overheadP50Ms, overheadP99Ms: timing.overheadP99Ms,
    firstStartMs: Math.round(timing.firstStart - run.startedAt), dispatchP50Ms: timing.dispatchP50Ms, storeP50Ms: timing.storeP50Ms,
    workflows: census.workflows, historyEvents: census.historyEvents, eventsPerSample: round(census.historyEvents / opts.samples),
    processes: measured.usage, maxLoad: measured.maxLoad,
    cpuMsPerSampleByProcess: Object.fromEntries(Object.entries(measured.usage).map(([name, u]) => [name, perSample(u.cpuSeconds)])),
    cpuMsPerSample: perSample(Object.values(measured.usage).reduce((sum, u) => sum + u.cpuSeconds, 0)),
    ...(seen ? { windowLoss: windowLoss(seen, opts.concurrency) } : {}),
  };
}

/** The ideal: the same model through an in-process promise pool (for HTTP, against an endpoint of its own). */
async function idealOf(opts: BenchOptions): Promise<{ seconds: number; throughput: number; efficiency: number }> {
  const endpoint = await endpointFor(opts);
  try {
    const ideal = await runIdeal({ samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, salt: 'ideal', baseUrl: endpoint?.baseUrl });
    const seen = await endpoint?.stats();
    return { seconds: round(ideal.seconds, 3), throughput: round(ideal.throughput), efficiency: efficiencyOf(opts, seen, ideal.throughput, ideal.throughput),
      ...(seen ? { windowLoss: windowLoss(seen, opts.concurrency) } : {}) };
  } finally {
    await endpoint?.stop();
  }
}

/** Runs the ideal, then each fan-out, and writes the report. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const loadBefore = loadAverage();
  const at = new Date().toISOString();
  log(`ideal: ${opts.samples} calls through a promise pool of ${opts.concurrency} (${opts.provider})`);
  const ideal = await idealOf(opts);
  const stack = await startBenchStack(log, opts.server);
  const runs: FanoutResult[] = [];
  try {
    for (const fanout of opts.fanouts) runs.push(await benchFanout(stack, opts, fanout, ideal.throughput));
  } finally {
    await stack.stop(opts.keep);
    if (opts.keep) log(`kept the stack's data in ${stack.dataDir}`);
  }
  return {
    machine: { cores: cpus().length, loadBefore, loadAfter: loadAverage(), node: process.version, at },
    workload: { samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, zeroLatency: opts.zeroLatency, provider: opts.provider, server: opts.server },
    ideal,
    runs,
  };
}

async function main(): Promise<number> {
  const opts = parseBenchArgs(process.argv.slice(2));
  const report = await runBench(opts);
  const files = writeReport(opts.out, report);
  process.stdout.write(markdownTable(report));
  log(`wrote ${files.json} and ${files.md}`);
  return report.runs.every((r) => r.status === 'completed') ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
