import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or undefined when gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process in seconds, or undefined when it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS : undefined;
}

/** Every live process below `root`, found through the parent ids in /proc. */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds of a process and everything below it: utime + stime + the reaped children's cutime + cstime of
 * each, so a server that forks a process per connection (PostgreSQL) is counted whole.
 */
export function treeCpuSecondsOf(root: number): number | undefined {
  const own = statFields(root);
  if (!own) return undefined;
  return [root, ...descendantsOf(root)].reduce((sum, pid) => {
    const f = pid === root ? own : statFields(pid);
    return f ? sum + (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS : sum;
  }, 0);
}

/** Resident memory of a process and everything below it, in MiB (shared pages count once per process). */
export function treeRssMiBOf(root: number): number | undefined {
  const own = rssMiBOf(root);
  if (own === undefined) return undefined;
  return descendantsOf(root).reduce((sum, pid) => sum + (rssMiBOf(pid) ?? 0), own);
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

  /** `pids`: processes measured alone; `trees`: processes measured with everything they fork. */
  constructor(private readonly pids: Record<string, number>, private readonly trees: Record<string, number> = {}) {}

  private cpuOf(name: string): number | undefined {
    return name in this.trees ? treeCpuSecondsOf(this.trees[name]) : cpuSecondsOf(this.pids[name]);
  }

  private rssOf(name: string): number | undefined {
    return name in this.trees ? treeRssMiBOf(this.trees[name]) : rssMiBOf(this.pids[name]);
  }

  private names(): string[] {
    return [...Object.keys(this.pids), ...Object.keys(this.trees)];
  }

  /** Takes the starting CPU figures and begins polling. */
  start(): void {
    for (const name of this.names()) this.cpuAtStart.set(name, this.cpuOf(name) ?? 0);
    this.poll();
    this.timer = setInterval(() => this.poll(), 500);
  }

  private poll(): void {
    for (const name of this.names()) {
      const rss = this.rssOf(name);
      if (rss !== undefined) this.peak.set(name, Math.max(this.peak.get(name) ?? 0, rss));
    }
    this.loads.push(loadAverage());
  }

  /** Stops polling; returns usage per process name and the highest 1-minute load average seen. */
  stop(): { usage: Record<string, ProcUsage>; maxLoad: number } {
    if (this.timer) clearInterval(this.timer);
    this.poll();
    const usage: Record<string, ProcUsage> = {};
    for (const name of this.names()) {
      const cpu = (this.cpuOf(name) ?? this.cpuAtStart.get(name) ?? 0) - (this.cpuAtStart.get(name) ?? 0);
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
