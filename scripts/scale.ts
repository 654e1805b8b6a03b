/**
 * `npm run scale`: the scale targets. (1) One assignment of 100,000 samples at zero latency completes with
 * the worker's RSS under 1 GiB and no history warnings from the Temporal server. (2) Planning a
 * 1,000,000-line dataset (counting it, then keying every sample in pages as prepareBatch does) stays under
 * 300 MB RSS, measured in a child process of its own, as JSONL and as Parquet (row groups of --plan-row-group
 * rows, read one row group at a time).
 *
 *   npm run scale -- [--samples 100000] [--fanout batch|per-sample] [--concurrency 64]
 *                    [--plan-lines 1000000] [--plan-format jsonl|parquet|both] [--plan-row-group 10000]
 *                    [--only run|plan] [--out bench-results]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TaskConfigSchema, ModelConfigSchema } from '../src/config/schema';
import { openTaskSamples } from '../src/environments';
import { keyedSamples } from '../src/plan/samples';
import { runAssignment, startBenchStack, startWorkerProcess, temporalLogOf, workDir } from './bench/harness';
import { loadAverage, ProcSampler, round } from './bench/proc-stats';
import { providerConfig, writeDataset, writeWorkloadConfig } from './bench/workload';
import { writeDatasetParquet } from './bench/parquet';

const log = (line: string): void => void process.stderr.write(`scale: ${line}\n`);
const MIB = 1024 * 1024;
/** Indexes keyed per page, as prepareBatch is called with. */
const PLAN_PAGE = 200;

/** What the 100,000-sample run measured. */
export interface ScaleRun {
  samples: number;
  fanout: string;
  status: string;
  seconds: number;
  throughput: number;
  workerPeakRssMiB: number;
  processes: Record<string, { peakRssMiB: number; cpuSeconds: number }>;
  historyWarnings: string[];
  loadBefore: number;
  maxLoad: number;
}

/** Runs one big assignment on a private stack and checks memory and the server's history warnings. */
async function scaleRun(samples: number, fanout: 'batch' | 'per-sample', concurrency: number): Promise<ScaleRun> {
  const loadBefore = loadAverage();
  const dir = workDir('evalctl-scale-');
  const config = writeWorkloadConfig(dir, 'scale', { samples, latencyMs: 0, concurrency, fanout, salt: `scale-${Date.now()}` });
  const stack = await startBenchStack(log);
  try {
    const worker = await startWorkerProcess(stack.env, concurrency);
    const sampler = new ProcSampler({ worker: worker.pid, ...stack.serverPids });
    sampler.start();
    log(`running ${samples} samples, fanout ${fanout}, concurrency ${concurrency}`);
    let run;
    let measured: ReturnType<ProcSampler['stop']>;
    try {
      run = await runAssignment(stack, config, `scale-${Date.now()}`);
    } finally {
      measured = sampler.stop();
      await worker.stop();
    }
    const warnings = readFileSync(temporalLogOf(stack), 'utf8').split('\n').filter((l) => /history (size|length) exceeds/i.test(l));
    const workerWarnings = worker.output().split('\n').filter((l) => /history (size|length)/i.test(l));
    const seconds = (run.closedAt - run.startedAt) / 1000;
    return {
      samples, fanout, status: run.status, seconds: round(seconds), throughput: round(samples / seconds),
      workerPeakRssMiB: measured.usage.worker.peakRssMiB, processes: measured.usage,
      historyWarnings: [...warnings, ...workerWarnings].slice(0, 20), loadBefore, maxLoad: measured.maxLoad,
    };
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In the child: counts the dataset and keys every sample in pages, then reports its peak RSS. */
async function planChild(datasetPath: string): Promise<void> {
  const task = TaskConfigSchema.parse({ id: 'plan', dataset: { path: datasetPath }, prompt: 'Answer with a number. {{question}}', scorer: { kind: 'exact' } });
  const model = ModelConfigSchema.parse({ id: 'sim', provider: providerConfig({ latencyMs: 0 }) });
  const started = Date.now();
  const count = (await openTaskSamples(task)).count;
  let keyed = 0;
  for (let start = 0; start < count; start += PLAN_PAGE) {
    const indexes = Array.from({ length: Math.min(PLAN_PAGE, count - start) }, (_, i) => start + i);
    keyed += (await keyedSamples(model, task, indexes)).size;
  }
  const peakRssMiB = round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify({ lines: count, keyed, seconds: round((Date.now() - started) / 1000), peakRssMiB })}\n`);
}

/** What planning one dataset file measured. */
interface PlanResult {
  format: 'jsonl' | 'parquet';
  lines: number;
  keyed: number;
  seconds: number;
  peakRssMiB: number;
}

/** Writes a dataset of `lines` rows (JSONL or Parquet) and plans it in a child process; returns what the child measured. */
async function planDataset(lines: number, format: 'jsonl' | 'parquet', rowGroup: number): Promise<PlanResult> {
  const dir = workDir('evalctl-plan-');
  const file = join(dir, `million.${format}`);
  log(`writing a ${lines}-row ${format} dataset${format === 'parquet' ? ` (row groups of ${rowGroup})` : ''}`);
  if (format === 'parquet') await writeDatasetParquet(file, lines, 'plan', rowGroup);
  else writeDataset(file, lines, 'plan');
  log('planning it in a child process');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [__filename, '--plan-child', file], { maxBuffer: 4 * MIB }, (err, out, errOut) => {
      if (err) reject(new Error(`the planner failed: ${errOut || err.message}`));
      else resolve(out);
    });
  });
  rmSync(dir, { recursive: true, force: true });
  return { format, ...(JSON.parse(stdout.trim().split('\n').pop() as string) as Omit<PlanResult, 'format'>) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      samples: { type: 'string', default: '100000' },
      fanout: { type: 'string', default: 'batch' },
      concurrency: { type: 'string', default: '64' },
      'plan-lines': { type: 'string', default: '1000000' },
      'plan-format': { type: 'string', default: 'both' },
      'plan-row-group': { type: 'string', default: '10000' },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench-results' },
      'plan-child': { type: 'string' },
    },
  });
  if (values['plan-child']) return planChild(values['plan-child']).then(() => 0);
  const fanout = values.fanout === 'per-sample' ? 'per-sample' : 'batch';
  const report: Record<string, unknown> = { at: new Date().toISOString(), loadBefore: loadAverage() };
  let ok = true;
  if (values.only !== 'run') {
    const formats = values['plan-format'] === 'both' ? (['jsonl', 'parquet'] as const) : [values['plan-format'] === 'parquet' ? 'parquet' as const : 'jsonl' as const];
    const plans = [];
    for (const format of formats) {
      const plan = await planDataset(Number(values['plan-lines']), format, Number(values['plan-row-group']));
      plans.push({ ...plan, underLimit: plan.peakRssMiB * MIB < 300e6 });
      ok &&= plan.peakRssMiB * MIB < 300e6;
      log(`planning ${plan.lines} ${format} rows: ${plan.seconds} s, peak RSS ${plan.peakRssMiB} MiB, load ${loadAverage()}`);
    }
    report.plan = plans;
  }
  if (values.only !== 'plan') {
    const run = await scaleRun(Number(values.samples), fanout, Number(values.concurrency));
    report.run = run;
    ok &&= run.status === 'completed' && run.workerPeakRssMiB < 1024 && run.historyWarnings.length === 0;
    log(`${run.samples} samples (${run.fanout}): ${run.status} in ${run.seconds} s (${run.throughput}/s), worker peak RSS ${run.workerPeakRssMiB} MiB, `
      + `${run.historyWarnings.length} history warnings, load ${run.loadBefore} before, max ${run.maxLoad}`);
  }
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'scale-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`scale failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
