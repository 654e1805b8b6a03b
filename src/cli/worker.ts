import { Command, Option } from 'commander';
import { connectionFromCommand, type ConnectionConfig } from '../config/connection';
import { WORKER_TYPES, type WorkerType } from '../contracts';
import { leaseForActivity } from '../worker/devices';
import { formatIdentity } from '../worker/identity';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../worker/connect';
import { planWorker, queueRatesOf, type WorkerFlags, type WorkerLaunch } from '../worker/launch';
import { startMetricsServer, WorkerMetrics, type MetricsServer } from '../worker/metrics-server';
import { startWorker } from '../worker/run-worker';
import { UsageError } from './errors';

/**
 * `evalctl worker <type>`: serves one task type (or all of them) until SIGINT/SIGTERM, then shuts down
 * gracefully: in-flight activities are handed back to be retried elsewhere. GPU workers
 * (`--gpus 0,1 --gpu-type a100`) poll their tag's queue with one activity per device slot.
 */
export function workerCommand(): Command {
  return new Command('worker')
    .description('run a worker for one task type (orchestrator, inference, scoring), all of them, or an agent environment (task <name>)')
    .addArgument(new Command().createArgument('<type>', 'task type').choices([...WORKER_TYPES]))
    .addArgument(new Command().createArgument('[environment]', 'type task: the agent environment served (environment.name of agent tasks)'))
    .addOption(new Option('--capacity <n>', 'type task: environment sessions held at once (default 4)'))
    .addOption(new Option('--slots <n>', 'model calls in flight at once on this worker (inference, no device manager)'))
    .addOption(new Option('--queue <names...>', 'extra inference queues to poll (per-model or GPU-tagged queues)'))
    .addOption(new Option('--gpus <ids>', 'GPU ids to hand out, comma-separated (CUDA_VISIBLE_DEVICES values), e.g. 0,1,2,3'))
    .addOption(new Option('--gpu-type <tag>', 'GPU tag: poll evalctl-inference.gpu-<tag> instead of the shared inference queue'))
    .addOption(new Option('--slots-per-gpu <n>', 'calls that may share one GPU at once (default 1)'))
    .addOption(new Option('--cpu-slots <n>', 'slots for calls that need no GPU; a GPU worker with them also polls the shared queue'))
    .addOption(new Option('--queue-rate <model=rps...>', "poll a rate-limited model's queue with this limit (the same on every worker)"))
    .addOption(new Option('--models <ids...>', "poll only these rate-limited models' queues, limits read from the assignments as they start"))
    .addOption(new Option('--no-model-queues', "do not pick up the queues of rate-limited models from running assignments"))
    .addOption(new Option('--connect-timeout <seconds>', `keep trying to reach Temporal this long at start, then exit 1 (default ${DEFAULT_CONNECT_TIMEOUT_MS / 1000})`))
    .addOption(new Option('--metrics-port <n>', 'serve /healthz and /metrics (Prometheus) on 127.0.0.1:<n>'))
    .addOption(new Option('--name <name>', 'name carried in the worker identity (set by `workers start`)'))
    .action(async (type: WorkerType, environment: string | undefined, opts: WorkerFlags & { capacity?: string; connectTimeout?: string }, command: Command) => {
      const task = taskOf(type, environment, opts.capacity);
      const launch = planWorker(type, task ? { ...opts, slots: String(task.capacity), name: opts.name ?? task.environment } : opts);
      const connectTimeoutMs = secondsOf('--connect-timeout', opts.connectTimeout);
      const connection = connectionFromCommand(command);
      await serve(type, launch, connection, task, connectTimeoutMs);
    });
}

/** `worker task <environment> [--capacity n]`: the environment and its session capacity; nothing for other types. */
function taskOf(type: WorkerType, environment: string | undefined, capacity: string | undefined): { environment: string; capacity: number } | undefined {
  if (type !== 'task') {
    if (environment !== undefined || capacity !== undefined) throw new UsageError('an environment name and --capacity are only for `evalctl worker task <environment>`');
    return undefined;
  }
  if (!environment || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(environment)) throw new UsageError('worker task: name the environment it serves, e.g. `evalctl worker task number-guess`');
  const n = capacity === undefined ? 4 : Number(capacity);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new UsageError(`--capacity: expected a whole number from 1 to 10000, got "${capacity}"`);
  return { environment, capacity: n };
}

/** How the ready line says which rate-limited model queues the worker picks up by itself. */
function followNote(launch: WorkerLaunch): string {
  if (launch.follow.kind === 'all') return ' model-queues=auto (rate-limited models of running assignments)';
  if (launch.follow.kind === 'some') return ` model-queues=${launch.follow.ids.join(',')} (when an assignment uses them)`;
  return '';
}

function secondsOf(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 86_400) throw new UsageError(`${flag}: expected seconds from 0 to 86400, got "${value}"`);
  return n * 1000;
}

/** Runs the worker until a signal, with its metrics endpoint when asked for. */
async function serve(type: WorkerType, launch: WorkerLaunch, connection: ConnectionConfig, task?: { environment: string; capacity: number }, connectTimeoutMs?: number): Promise<void> {
  const modelRates = launch.modelRates;
  const identity = formatIdentity(launch.identity);
  const devices = launch.devices;
  const metrics = new WorkerMetrics(identity, [], launch.slots, devices ? () => devices.usage() : undefined);
  const running = await startWorker({
    type, connection, identity, inferenceSlots: launch.slots, extraInferenceQueues: launch.extraQueues,
    sharedInference: launch.sharedInference, queueRates: queueRatesOf(modelRates),
    leaseDevices: devices ? leaseForActivity(devices) : undefined,
    activityInterceptors: [metrics.interceptor()], task, followModels: launch.follow, connectTimeoutMs,
    onQueue: (queue, rps) => {
      metrics.queues.push(queue);
      process.stderr.write(`worker: now polling ${queue} (limit ${rps}/s), needed by a running assignment\n`);
    },
  });
  const queues = running.workers.map((w) => w.options.taskQueue);
  metrics.queues.push(...queues);
  let server: MetricsServer | undefined;
  if (launch.metricsPort !== undefined) server = await startMetricsServer(metrics, launch.metricsPort);
  const rates = Object.entries(modelRates).map(([m, r]) => `${m}=${r}/s`).join(',');
  process.stderr.write(`worker ready: type=${type} pid=${process.pid} identity=${identity} queues=${queues.join(', ')}`
    + `${rates ? ` rates=${rates}` : ''}${followNote(launch)}${server ? ` metrics=http://127.0.0.1:${server.port}/metrics` : ''}\n`);
  const stop = (signal: string): void => {
    process.stderr.write(`worker: ${signal} received, shutting down (in-flight work is handed back)\n`);
    metrics.markStopping();
    void running.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    await running.done;
  } finally {
    await server?.close();
  }
  process.stderr.write('worker stopped\n');
}
