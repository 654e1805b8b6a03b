import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcUsage } from './proc-stats';
import type { WindowLoss } from './endpoint';

/** One fan-out's measured run. */
export interface FanoutResult {
  /** The config's fan-out; `default` names none. */
  fanout: 'per-sample' | 'batch' | 'default';
  /** The fan-out the job actually ran (what `default` chose). */
  ranAs: 'per-sample' | 'batch';
  /** Most model calls in flight at once (at the endpoint, or from the stored results' call times). */
  inFlightPeak: number;
  /** CPU milliseconds per sample of each measured process. */
  cpuMsPerSampleByProcess: Record<string, number>;
  assignmentId: string;
  status: string;
  /** Seconds from the start call to the last result stored. */
  seconds: number;
  /** Samples per second over `seconds`: what efficiency compares with the ideal. */
  throughput: number;
  /** Seconds from the start call to the assignment workflow closed (planning and finalisation included). */
  endToEndSeconds: number;
  endToEndThroughput: number;
  efficiency: number;
  /** Samples whose overhead could be measured (a stored result and a known start). */
  measured: number;
  overheadP50Ms: number;
  overheadP99Ms: number;
  /** Milliseconds from the start call to the first sample's start (planning, job and shard starts). */
  firstStartMs: number;
  /** Of the overhead, p50 of start to model call, and of model answer to result stored. */
  dispatchP50Ms: number;
  storeP50Ms: number;
  workflows: number;
  historyEvents: number;
  eventsPerSample: number;
  processes: Record<string, ProcUsage>;
  /**
   * CPU milliseconds per sample, worker and servers together: the figure that holds on a shared machine.
   * 1000 x cores / cpuMsPerSample is the ceiling in samples/s of an otherwise idle machine.
   */
  cpuMsPerSample: number;
  /** Highest 1-minute load average seen during the run. */
  maxLoad: number;
  /** Where the window stood partly empty at the endpoint (HTTP runs only). */
  windowLoss?: WindowLoss;
}

/** Everything one `npm run bench` measured. */
export interface BenchReport {
  machine: { cores: number; loadBefore: number; loadAfter: number; node: string; at: string };
  workload: { samples: number; latencyMs: number; concurrency: number; zeroLatency: boolean; provider: 'http' | 'simulated'; server: 'dev' | 'cluster' };
  /** The promise pool; its efficiency is measured the same way as the runs'. */
  ideal: { seconds: number; throughput: number; efficiency: number; windowLoss?: WindowLoss };
  runs: FanoutResult[];
}

function lossCell(loss: WindowLoss | undefined): string {
  if (!loss) return '-';
  return loss.neverFull ? `never full (${loss.rampMs} idle)` : `${loss.rampMs} / ${loss.middleMs} / ${loss.tailMs}`;
}

function usageCell(u: ProcUsage | undefined, perSample: number | undefined): string {
  return u ? `${u.peakRssMiB.toFixed(0)} MiB / ${u.cpuSeconds.toFixed(1)} s / ${perSample ?? '-'}` : '-';
}

/** The report as a markdown table, one row per fan-out plus the ideal. */
export function markdownTable(r: BenchReport): string {
  const w = r.workload;
  // A run on the Temporal server has PostgreSQL (postmaster and backends together) to show as well.
  const pg = r.runs.some((run) => run.processes.postgres !== undefined);
  const head = [
    `${w.samples} samples, latency ${w.latencyMs} ms, concurrency ${w.concurrency}, provider ${w.provider}, Temporal ${w.server === 'cluster' ? 'server on PostgreSQL' : 'dev server'}; ${r.machine.cores} cores, `
    + `load average ${r.machine.loadBefore} before / ${r.machine.loadAfter} after; node ${r.machine.node}; ${r.machine.at}`,
    '',
    `| fan-out | samples/s | efficiency | in flight peak | window lost ramp / middle / tail (ms) | end-to-end samples/s | first start (ms) | overhead p50 / p99 (ms) | dispatch / store p50 (ms) | events/sample | CPU ms/sample | worker RSS / CPU / ms per sample | temporal | db |${pg ? ' postgres |' : ''} endpoint | max load |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|---|${pg ? '---|' : ''}---|---|`,
    `| ideal (promise pool) | ${r.ideal.throughput.toFixed(1)} | ${r.ideal.efficiency.toFixed(3)} | - | ${lossCell(r.ideal.windowLoss)} | - | 0 | - | - | 0 | - | - | - | - |${pg ? ' - |' : ''} - | - |`,
  ];
  const rows = r.runs.map((run) => {
    const dbName = run.processes.ferretdb ? 'ferretdb' : 'mongod';
    const cell = (name: string): string => usageCell(run.processes[name], run.cpuMsPerSampleByProcess[name]);
    const name = run.fanout === 'default' ? `default (${run.ranAs})` : run.fanout;
    return `| ${name} | ${run.throughput.toFixed(1)} | ${run.efficiency.toFixed(3)} | ${run.inFlightPeak} | ${lossCell(run.windowLoss)} | ${run.endToEndThroughput.toFixed(1)} | ${run.firstStartMs} | `
      + `${run.overheadP50Ms} / ${run.overheadP99Ms} | ${run.dispatchP50Ms} / ${run.storeP50Ms} | ${run.eventsPerSample.toFixed(1)} | ${run.cpuMsPerSample.toFixed(1)} | `
      + `${cell('worker')} | ${cell('temporal')} | ${cell(dbName)} |${pg ? ` ${cell('postgres')} |` : ''} ${cell('endpoint')} | ${run.maxLoad} |`;
  });
  return [...head, ...rows, ''].join('\n');
}

/** Writes bench-<time>.json and bench-<time>.md (and latest.json/.md) into the output dir. */
export function writeReport(outDir: string, r: BenchReport): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const stamp = r.machine.at.replace(/[:.]/g, '-');
  const json = join(outDir, `bench-${stamp}.json`);
  const md = join(outDir, `bench-${stamp}.md`);
  const text = JSON.stringify(r, null, 2);
  const table = markdownTable(r);
  writeFileSync(json, `${text}\n`);
  writeFileSync(md, table);
  writeFileSync(join(outDir, 'latest.json'), `${text}\n`);
  writeFileSync(join(outDir, 'latest.md'), table);
  return { json, md };
}
