import { NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import { ConfigCache, createActivities, defaultWorkerIdentity, taskActivities, type ActivityDeps, ACTIVITIES_BY_ROLE } from '../../activities';
import type { ConnectionConfig } from '../config/connection';
import { INFERENCE_QUEUE, ORCHESTRATOR_QUEUE, SCORING_QUEUE, environmentQueue, sessionQueue, type WorkerType } from '../contracts';
import { openStore, type Store } from '../store/store';
import { payloadCodecsFromEnv } from '../temporal/codec';
import { temporalTlsConfig } from '../temporal/tls';
import { workflowSource } from './bundle';
import { connectTemporal } from './connect';
import type { FollowModels } from './launch';
import { followModelQueues } from './model-queues';
import { installQuietRuntime } from './sdk-logs';
import { WorkerGroup } from './worker-group';
import { NamespaceNotReadyError, requireNamespaceReady } from '../temporal/setup';

/** How one worker process is set up. */
export interface WorkerSettings {
  type: WorkerType;
  connection: ConnectionConfig;
  /** Model calls in flight at once on this worker. */
  inferenceSlots?: number;
  /** Extra inference queues to poll (GPU-tagged or per-model queues). */
  extraInferenceQueues?: string[];
  identity?: string;
  env?: NodeJS.ProcessEnv;
  leaseDevices?: ActivityDeps['leaseDevices'];
  /** Called with each sample's prompt, prediction and score (`evalctl run --debug`). */
  debug?: ActivityDeps['debug'];
  /** Whether an inference worker polls the shared `evalctl-inference` queue (default true; GPU workers say false). */
  sharedInference?: boolean;
  /**
   * Rate-limited queues to poll, with their limit in activities per second (`maxTaskQueueActivitiesPerSecond`):
   * the server enforces it for the whole queue, so every worker polling a queue must pass the same value.
   */
  queueRates?: Record<string, number>;
  /** Activity interceptors for every Temporal worker of the process (metrics). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /** Type `task`: the agent environment served, and how many sessions this worker holds at once. */
  task?: { environment: string; capacity: number };
  /** Rate-limited models whose queues are picked up from the live assignments while the worker runs. */
  followModels?: FollowModels;
  /** Told when the worker starts polling a queue after start-up (a followed model's queue). */
  onQueue?: (queue: string, requestsPerSecond: number) => void;
  /** How long to keep trying to reach Temporal at start before giving up (default 60 s). */
  connectTimeoutMs?: number;
}

/** A running worker process: its Temporal workers, and one call that stops everything gracefully. */
export interface RunningWorker {
  /** The Temporal workers running now (more may join: followed model queues). */
  readonly workers: Worker[];
  store: Store;
  /** Resolves when every Temporal worker has stopped and the clients are closed. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts the Temporal workers a worker type serves, over one MongoDB client and one Temporal connection.
 * Shutdown hands in-flight activities back (they are retried elsewhere) after a grace period.
 */
export async function startWorker(settings: WorkerSettings): Promise<RunningWorker> {
  installQuietRuntime();
  const payloadCodecs = payloadCodecsFromEnv(settings.env ?? process.env);
  const tls = temporalTlsConfig(settings.connection.tls);
  const connection = await connectTemporal(() => NativeConnection.connect({ address: settings.connection.temporalAddress, ...(tls ? { tls } : {}) }), {
    address: settings.connection.temporalAddress, timeoutMs: settings.connectTimeoutMs,
  });
  // Workflows set evalctl's search attributes: an orchestrator waits (saying why) until `evalctl setup` ran.
  if (settings.type === 'orchestrator' || settings.type === 'all') await waitForNamespace(connection, settings.connection.temporalNamespace);
  const store = await openStore(settings.connection.mongoUrl).catch(async (err: unknown) => {
    await connection.close();
    throw err;
  });
  const identity = settings.identity ?? defaultWorkerIdentity(settings.type);
  const deps: ActivityDeps = {
    store, env: settings.env ?? process.env, workerIdentity: identity, leaseDevices: settings.leaseDevices, debug: settings.debug,
    callSlots: settings.inferenceSlots ?? 64,
  };
  const activities = createActivities(deps);
  // The same codec as every client: payloads in history are encrypted when EVALCTL_CODEC_KEY is set.
  const dataConverter = payloadCodecs.length ? { dataConverter: { payloadCodecs } } : {};
  const base = { connection, namespace: settings.connection.temporalNamespace, identity, shutdownGraceTime: '5s', ...dataConverter,
    defaultHeartbeatThrottleInterval: '1s', maxHeartbeatThrottleInterval: '2s',
    ...(settings.activityInterceptors ? { interceptors: { activity: settings.activityInterceptors } } : {}) } satisfies Partial<WorkerOptions>;
  const pick = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, activities[n as keyof typeof activities]]));
  const specs: WorkerOptions[] = [];
  const serves = (role: WorkerType) => settings.type === 'all' || settings.type === role;
  if (serves('orchestrator')) {
    specs.push({ ...base, taskQueue: ORCHESTRATOR_QUEUE, ...workflowSource(), activities: pick(ACTIVITIES_BY_ROLE.orchestrator), maxConcurrentActivityTaskExecutions: 50 });
  }
  const inferenceSpec = (queue: string, rps?: number): WorkerOptions => ({
    ...base, taskQueue: queue, activities: pick(ACTIVITIES_BY_ROLE.inference), maxConcurrentActivityTaskExecutions: settings.inferenceSlots ?? 64,
    ...(rps === undefined ? {} : { maxTaskQueueActivitiesPerSecond: rps }),
    // Sample workflows of the local path run on the shared queue only (see localCallOf in src/plan/jobs.ts).
    ...(queue === INFERENCE_QUEUE ? { ...workflowSource(), ...sampleWorkflowSlots(settings.inferenceSlots ?? 64) } : {}),
  });
  if (serves('inference')) {
    const rates = settings.queueRates ?? {};
    const queues = [...(settings.sharedInference === false ? [] : [INFERENCE_QUEUE]), ...(settings.extraInferenceQueues ?? []), ...Object.keys(rates)];
    for (const queue of new Set(queues)) specs.push(inferenceSpec(queue, rates[queue]));
  }
  if (serves('scoring')) {
    specs.push({ ...base, taskQueue: SCORING_QUEUE, activities: pick(ACTIVITIES_BY_ROLE.scoring), maxConcurrentActivityTaskExecutions: 64 });
  }
  if (settings.type === 'task' && settings.task) specs.push(...taskWorkerSpecs(deps, settings.task, base));
  const group = new WorkerGroup();
  try {
    for (const worker of await Promise.all(specs.map((spec) => Worker.create(spec)))) group.add(worker);
  } catch (err) {
    await group.shutdown();
    await closeAll(connection, store);
    throw err;
  }
  const follower = serves('inference') && settings.followModels && settings.followModels.kind !== 'none'
    ? followModelQueues({
      store, follow: settings.followModels, fixed: Object.fromEntries(Object.entries(settings.queueRates ?? {}).map(([q, r]) => [q.replace(/^.*\.model-/, ''), r])),
      serve: async (queue, _model, rps) => {
        await group.replace(await Worker.create(inferenceSpec(queue, rps)));
        settings.onQueue?.(queue, rps);
      },
      onError: (err) => process.stderr.write(`worker: could not read the live assignments' models (trying again): ${err instanceof Error ? err.message : String(err)}\n`),
    })
    : undefined;
  const done = group.done.then(
    async () => closeAll(connection, store),
    async (err: unknown) => {
      await follower?.stop();
      await closeAll(connection, store);
      throw err;
    },
  );
  const shutdown = async (): Promise<void> => {
    await follower?.stop();
    await group.shutdown();
    await done.catch(() => undefined);
  };
  return { get workers() { return group.workers; }, store, done, shutdown };
}

/**
 * Workflow settings of the queue that runs sample workflows of the local path: a local model call holds its
 * workflow task (and that task's slot) until it answers, so workflow-task slots, local-activity slots and the
 * workflow cache all hold at least the worker's `slots` samples at once.
 */
function sampleWorkflowSlots(slots: number): Partial<WorkerOptions> {
  return {
    maxConcurrentLocalActivityExecutions: slots,
    maxConcurrentWorkflowTaskExecutions: slots + 8,
    maxCachedWorkflows: Math.max(slots * 2, 100),
  };
}

/**
 * A task worker polls two queues: its environment's shared one (sessions start on whichever worker has a
 * free slot) and its own (every turn of the sessions it holds), named from its identity.
 */
function taskWorkerSpecs(deps: ActivityDeps, task: { environment: string; capacity: number }, base: Omit<WorkerOptions, 'taskQueue'>): WorkerOptions[] {
  const queue = sessionQueue(task.environment, deps.workerIdentity);
  const acts = taskActivities(deps, new ConfigCache(deps.store), { environment: task.environment, queue, capacity: task.capacity });
  return [
    { ...base, taskQueue: environmentQueue(task.environment), activities: { startSession: acts.startSession, environmentOverall: acts.environmentOverall }, maxConcurrentActivityTaskExecutions: task.capacity + 1 },
    { ...base, taskQueue: queue, activities: { stepSession: acts.stepSession, cancelSession: acts.cancelSession }, maxConcurrentActivityTaskExecutions: task.capacity * 2 },
  ];
}

async function closeAll(connection: NativeConnection, store: Store): Promise<void> {
  await Promise.allSettled([connection.close(), store.close()]);
}

/** Checks the namespace every 5 s until it is ready, saying once a minute what is missing and what fixes it. */
async function waitForNamespace(connection: NativeConnection, namespace: string): Promise<void> {
  let said = 0;
  for (;;) {
    try {
      await requireNamespaceReady(connection, namespace);
      if (said) process.stderr.write(`worker: namespace ${namespace} is ready\n`);
      return;
    } catch (err) {
      if (!(err instanceof NamespaceNotReadyError)) throw err;
      if (Date.now() - said > 60_000) {
        process.stderr.write(`worker: waiting: ${err.message}\n`);
        said = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
}
