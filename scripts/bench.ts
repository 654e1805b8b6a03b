/**
 * `npm run bench`: how much durability costs. Starts a private stack and an all-in-one worker process, runs
 * one assignment on the simulated provider (fixed latency L, concurrency C) per fan-out, and the same
 * provider through a plain in-process promise pool of C (the ideal). Reports throughput, efficiency,
 * orchestration overhead per sample, history events per sample, and peak RSS and CPU of every process.
 *
 *   npm run bench -- [--latency 1000] [--concurrency 64] [--samples 2000] [--fanout per-sample|batch|both]
 *                    [--zero-latency] [--out bench-results] [--keep] [--cpu-prof]
 */
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { censusOf, runnerStarts, sampleTiming, shardActivityStarts } from './bench/measure';
import { loadAverage, ProcSampler, round } from './bench/proc-stats';
import { markdownTable, writeReport, type BenchReport, type FanoutResult } from './bench/report';
import { runAssignment, startBenchStack, startWorkerProcess, workDir, type AssignmentRun, type BenchStack } from './bench/harness';
import { runIdeal, writeWorkloadConfig, type Workload } from './bench/workload';

/** Parsed bench flags. */
export interface BenchOptions {
  latencyMs: number;
  concurrency: number;
  /**
   * 2,000 by default: at L = 1 s and C = 64 the ideal takes about 31 s (31 rounds of calls), so a second of
   * ramp-up or tail moves efficiency by ~3%, resolvable, while both fan-outs finish in about two minutes.
   */
  samples: number;
  fanouts: Array<'per-sample' | 'batch'>;
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
      'zero-latency': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results' },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  const fanout = values.fanout;
  if (fanout !== 'per-sample' && fanout !== 'batch' && fanout !== 'both') throw new Error('--fanout takes per-sample, batch or both');
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number >= ${min}`);
    return n;
  };
  const zeroLatency = values['zero-latency'];
  return {
    latencyMs: zeroLatency ? 0 : num('latency', values.latency, 0),
    concurrency: num('concurrency', values.concurrency, 1),
    samples: num('samples', values.samples, 1),
    fanouts: fanout === 'both' ? ['per-sample', 'batch'] : [fanout],
    zeroLatency, out: values.out, keep: values.keep, cpuProf: values['cpu-prof'],
  };
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** Runs one fan-out's assignment with a fresh worker process, measuring every process meanwhile. */
async function benchFanout(stack: BenchStack, opts: BenchOptions, fanout: Workload['fanout'], idealThroughput: number): Promise<FanoutResult> {
  const dir = workDir('evalctl-bench-work-');
  const salt = `${fanout}-${Date.now()}`;
  const config = writeWorkloadConfig(dir, `bench-${fanout}`, { samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, fanout, salt });
  const nodeArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(opts.out, 'profiles')}`] : [];
  const worker = await startWorkerProcess(stack.env, opts.concurrency, nodeArgs);
  const sampler = new ProcSampler({ worker: worker.pid, ...stack.serverPids });
  sampler.start();
  let measured: ReturnType<ProcSampler['stop']>;
  let run: AssignmentRun;
  try {
    run = await runAssignment(stack, config, `bench-${fanout}-${Date.now()}`);
  } finally {
    // CPU is read before the worker exits: a process that is gone has no /proc entry.
    measured = sampler.stop();
    await worker.stop();
  }
  rmSync(dir, { recursive: true, force: true });
  log(`${fanout}: ${run.status} in ${((run.closedAt - run.startedAt) / 1000).toFixed(1)} s; measuring`);
  const census = await censusOf(stack.temporal, run.assignmentId);
  let starts = fanout === 'batch' ? await shardActivityStarts(stack.temporal, census.shardIds) : census.sampleStarts;
  if (fanout === 'batch' && starts.size === 0) starts = await runnerStarts(stack.store, run.assignmentId);
  const timing = await sampleTiming(stack.store, starts);
  const seconds = (Math.max(timing.lastFinish, run.startedAt) - run.startedAt) / 1000;
  const throughput = seconds > 0 ? opts.samples / seconds : 0;
  const endToEndSeconds = (run.closedAt - run.startedAt) / 1000;
  return {
    fanout, assignmentId: run.assignmentId, status: run.status,
    seconds: round(seconds), throughput: round(throughput), endToEndSeconds: round(endToEndSeconds),
    endToEndThroughput: round(opts.samples / endToEndSeconds), efficiency: round(throughput / idealThroughput, 4),
    measured: timing.measured, overheadP50Ms: timing.overheadP50Ms, overheadP99Ms: timing.overheadP99Ms,
    firstStartMs: Math.round(timing.firstStart - run.startedAt), dispatchP50Ms: timing.dispatchP50Ms, storeP50Ms: timing.storeP50Ms,
    workflows: census.workflows, historyEvents: census.historyEvents, eventsPerSample: round(census.historyEvents / opts.samples),
    processes: measured.usage, maxLoad: measured.maxLoad,
    cpuMsPerSample: round((Object.values(measured.usage).reduce((sum, u) => sum + u.cpuSeconds, 0) * 1000) / opts.samples, 1),
  };
}

/** Runs the ideal, then each fan-out, and writes the report. */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const loadBefore = loadAverage();
  const at = new Date().toISOString();
  log(`ideal: ${opts.samples} calls through a promise pool of ${opts.concurrency}`);
  const ideal = await runIdeal({ samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, salt: 'ideal' });
  const stack = await startBenchStack(log);
  const runs: FanoutResult[] = [];
  try {
    for (const fanout of opts.fanouts) runs.push(await benchFanout(stack, opts, fanout, ideal.throughput));
  } finally {
    await stack.stop(opts.keep);
    if (opts.keep) log(`kept the stack's data in ${stack.dataDir}`);
  }
  return {
    machine: { cores: cpus().length, loadBefore, loadAfter: loadAverage(), node: process.version, at },
    workload: { samples: opts.samples, latencyMs: opts.latencyMs, concurrency: opts.concurrency, zeroLatency: opts.zeroLatency },
    ideal: { seconds: round(ideal.seconds, 3), throughput: round(ideal.throughput) },
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
