import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { CancelledFailure } from '@temporalio/common';
import type { DeviceUsage } from './devices';

/**
 * Per-worker health and metrics: counters kept by an activity interceptor, served over HTTP as JSON
 * (`/healthz`) and Prometheus text (`/metrics`), so a fleet supervisor, a load balancer or Prometheus can
 * watch each worker.
 */

/** How an activity ended. */
export type ActivityOutcome = 'done' | 'failed' | 'canceled';

/** What a worker reports about its slots and activities. */
export interface WorkerHealth {
  status: 'ok' | 'stopping';
  identity: string;
  pid: number;
  queues: string[];
  slots: { busy: number; total: number };
  devices?: DeviceUsage;
  activities: { inFlight: number; done: number; failed: number; canceled: number };
  uptimeSeconds: number;
}

/** Counters of one worker process; the interceptor feeds them, the server reads them. */
export class WorkerMetrics {
  private readonly counts = new Map<string, number>();
  private inFlight = 0;
  private stopping = false;
  private readonly started = Date.now();

  /**
   * @param slotsTotal concurrent activities the worker accepts
   * @param devices device usage, when a device manager hands out the slots
   */
  constructor(
    readonly identity: string,
    readonly queues: string[],
    private readonly slotsTotal: number,
    private readonly devices?: () => DeviceUsage,
  ) {}

  /** An interceptor factory counting every activity this worker runs, by type, queue and outcome. */
  interceptor(): ActivityInterceptorsFactory {
    return (ctx) => ({
      inbound: {
        execute: async (input, next) => {
          this.inFlight++;
          let outcome: ActivityOutcome = 'failed';
          try {
            const result = await next(input);
            outcome = 'done';
            return result;
          } catch (err) {
            outcome = err instanceof CancelledFailure || ctx.cancellationSignal.aborted ? 'canceled' : 'failed';
            throw err;
          } finally {
            this.inFlight--;
            const key = `${ctx.info.activityType}\u0000${ctx.info.taskQueue}\u0000${outcome}`;
            this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
          }
        },
      },
    });
  }

  /** Marks the worker as shutting down, so health checks stop sending it traffic. */
  markStopping(): void {
    this.stopping = true;
  }

  /** The health document served at `/healthz`. */
  health(): WorkerHealth {
    const devices = this.devices?.();
    const sum = (outcome: ActivityOutcome): number =>
      [...this.counts].filter(([k]) => k.endsWith(`\u0000${outcome}`)).reduce((n, [, v]) => n + v, 0);
    const busy = devices ? devices.gpuSlotsBusy + devices.cpuSlotsBusy : this.inFlight;
    return {
      status: this.stopping ? 'stopping' : 'ok', identity: this.identity, pid: process.pid, queues: this.queues,
      slots: { busy, total: this.slotsTotal }, ...(devices ? { devices } : {}),
      activities: { inFlight: this.inFlight, done: sum('done'), failed: sum('failed'), canceled: sum('canceled') },
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
    };
  }

  /** Prometheus text exposition (format 0.0.4) of the same figures. */
  prometheus(): string {
    const h = this.health();
    const id = `identity="${escapeLabel(this.identity)}"`;
    const lines = [
      '# HELP evalctl_worker_up 1 while the worker runs, 0 once it is shutting down.',
      '# TYPE evalctl_worker_up gauge',
      `evalctl_worker_up{${id}} ${h.status === 'ok' ? 1 : 0}`,
      '# HELP evalctl_worker_slots_total Concurrent activities (device slots) this worker accepts.',
      '# TYPE evalctl_worker_slots_total gauge',
      `evalctl_worker_slots_total{${id}} ${h.slots.total}`,
      '# HELP evalctl_worker_slots_busy Slots held by running activities.',
      '# TYPE evalctl_worker_slots_busy gauge',
      `evalctl_worker_slots_busy{${id}} ${h.slots.busy}`,
      '# HELP evalctl_worker_activities_in_flight Activities running now.',
      '# TYPE evalctl_worker_activities_in_flight gauge',
      `evalctl_worker_activities_in_flight{${id}} ${h.activities.inFlight}`,
      '# HELP evalctl_worker_activities_total Activities finished, by type, queue and outcome (done, failed, canceled).',
      '# TYPE evalctl_worker_activities_total counter',
    ];
    for (const [key, value] of [...this.counts].sort()) {
      const [activity, queue, outcome] = key.split('\u0000');
      lines.push(`evalctl_worker_activities_total{${id},activity="${escapeLabel(activity)}",queue="${escapeLabel(queue)}",outcome="${outcome}"} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A running metrics endpoint. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/healthz` (JSON; 503 while stopping) and `/metrics` (Prometheus text) on host:port; port 0 picks
 * a free port. Listens on 127.0.0.1 unless told otherwise: expose it deliberately.
 */
export async function startMetricsServer(metrics: WorkerMetrics, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics.prometheus());
    } else if (path === '/healthz' || path === '/') {
      const health = metrics.health();
      res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(health)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /healthz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
