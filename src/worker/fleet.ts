import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetMember, FleetConfig } from './fleet-config';

/**
 * The fleet supervisor of `evalctl workers start`: runs each member as its own `evalctl worker` process
 * (so one crash takes down one worker), appends its output to one log file per worker, restarts a crashed
 * worker with exponential backoff, and stops them all gracefully on request.
 */

/** The CLI entry point a child runs, next to the compiled code (dist/src/worker -> bin/evalctl.js). */
export const EVALCTL_BIN = join(__dirname, '..', '..', '..', 'bin', 'evalctl.js');

/** What the supervisor knows of one member. */
export interface MemberStatus {
  name: string;
  pid?: number;
  state: 'running' | 'backoff' | 'stopped';
  restarts: number;
  logFile: string;
  metricsPort?: number;
}

/** How the supervisor runs its members. */
export interface SupervisorOptions {
  members: FleetMember[];
  logDir: string;
  restart: FleetConfig['restart'];
  stopTimeoutMs: number;
  /** Environment of every child (the connection settings travel here). */
  env: NodeJS.ProcessEnv;
  /** Supervisor's own log lines (stderr by default). */
  log?: (line: string) => void;
}

interface Member {
  spec: FleetMember;
  logFile: string;
  child?: ChildProcess;
  startedAt: number;
  failures: number;
  restarts: number;
  timer?: NodeJS.Timeout;
}

/** Supervises a fleet until stop(); start() spawns every member at once. */
export class FleetSupervisor {
  private readonly members: Member[];
  private stopping = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: SupervisorOptions) {
    mkdirSync(options.logDir, { recursive: true });
    this.members = options.members.map((spec) => ({ spec, logFile: join(options.logDir, `${spec.name}.log`), startedAt: 0, failures: 0, restarts: 0 }));
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Starts every member. */
  start(): void {
    for (const m of this.members) this.spawn(m);
  }

  /** Where each member stands. */
  status(): MemberStatus[] {
    return this.members.map((m) => ({
      name: m.spec.name, pid: m.child?.pid, restarts: m.restarts, logFile: m.logFile, metricsPort: m.spec.metricsPort,
      state: m.child ? 'running' : m.timer ? 'backoff' : 'stopped',
    }));
  }

  /**
   * Stops every member: SIGTERM (in-flight work is handed back), then SIGKILL for any still running after
   * the grace period. Pending restarts are cancelled. Resolves when every child has exited.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const exits = this.members.map(async (m) => {
      clearTimeout(m.timer);
      m.timer = undefined;
      const child = m.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        this.note(m, `still running ${this.options.stopTimeoutMs} ms after SIGTERM: SIGKILL`);
        child.kill('SIGKILL');
      }, this.options.stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    });
    await Promise.all(exits);
  }

  private spawn(m: Member): void {
    m.timer = undefined;
    if (this.stopping) return;
    const fd = openSync(m.logFile, 'a');
    const child = spawn(process.execPath, [EVALCTL_BIN, ...m.spec.args], {
      env: { ...this.options.env, ...m.spec.env }, stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    m.child = child;
    m.startedAt = Date.now();
    this.note(m, `started pid ${child.pid ?? '?'}: evalctl ${m.spec.args.join(' ')}`);
    child.once('error', (err) => {
      this.note(m, `could not start: ${err.message}`);
      // A child that never started emits no exit: treat it as a crash so the backoff applies.
      if (child.pid === undefined) this.onExit(m, child, null, null);
    });
    child.once('exit', (code, signal) => this.onExit(m, child, code, signal));
  }

  private onExit(m: Member, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    m.child = undefined;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (this.stopping) {
      this.note(m, `stopped (${how})`);
      return;
    }
    const { initialDelayMs, maxDelayMs, resetAfterMs } = this.options.restart;
    m.failures = Date.now() - m.startedAt >= resetAfterMs ? 1 : m.failures + 1;
    const delay = backoffDelay(m.failures, initialDelayMs, maxDelayMs);
    m.restarts++;
    this.note(m, `pid ${child.pid} ${how}; restart #${m.restarts} in ${delay} ms`);
    m.timer = setTimeout(() => this.spawn(m), delay);
  }

  private note(m: Member, text: string): void {
    const line = `${new Date().toISOString()} supervisor: ${m.spec.name}: ${text}`;
    this.log(line);
    try {
      appendFileSync(m.logFile, `${line}\n`);
    } catch {
      // The log dir vanished; stderr still has the line.
    }
  }
}

/** Delay before the n-th consecutive restart (n >= 1): initial x 2^(n-1), capped at max. */
export function backoffDelay(failures: number, initialDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, failures - 1));
}
