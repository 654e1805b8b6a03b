import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Peak memory and CPU time of one process over a measured interval. */
export interface ProcUsage {
  /** Peak resident set size seen, in MiB. */
  peakRssMiB: number;
  /** User + system CPU seconds spent during the interval. */
  cpuSeconds: number;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const TICKS = clockTicks();

/** utime + stime of a process in seconds, or undefined when it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** Current resident set size of a process in MiB, or undefined when it is gone. */
export function rssMiBOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The 1-minute load average, to print beside every figure (the machine may be shared). */
export function loadAverage(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}

/**
 * Polls /proc for named processes every 500 ms between start() and stop(): the peak RSS of each, and the
 * CPU seconds each spent in between. Polling, not the processes' own reports, so servers count too.
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly cpuAtStart = new Map<string, number>();
  private readonly peak = new Map<string, number>();
  private readonly loads: number[] = [];

  constructor(private readonly pids: Record<string, number>) {}

  /** Takes the starting CPU figures and begins polling. */
  start(): void {
    for (const [name, pid] of Object.entries(this.pids)) this.cpuAtStart.set(name, cpuSecondsOf(pid) ?? 0);
    this.poll();
    this.timer = setInterval(() => this.poll(), 500);
  }

  private poll(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssMiBOf(pid);
      if (rss !== undefined) this.peak.set(name, Math.max(this.peak.get(name) ?? 0, rss));
    }
    this.loads.push(loadAverage());
  }

  /** Stops polling; returns usage per process name and the highest 1-minute load average seen. */
  stop(): { usage: Record<string, ProcUsage>; maxLoad: number } {
    if (this.timer) clearInterval(this.timer);
    this.poll();
    const usage: Record<string, ProcUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const cpu = (cpuSecondsOf(pid) ?? this.cpuAtStart.get(name) ?? 0) - (this.cpuAtStart.get(name) ?? 0);
      usage[name] = { peakRssMiB: round(this.peak.get(name) ?? 0), cpuSeconds: round(cpu) };
    }
    return { usage, maxLoad: Math.max(...this.loads) };
  }
}

/** Rounds to two decimals for reports. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
