import type { Client } from '@temporalio/client';
import { inferenceQueueFor } from '../plan/jobs';
import { ModelConfigSchema } from '../config/schema-model';
import {
  INFERENCE_QUEUE, ORCHESTRATOR_QUEUE, SCORING_QUEUE, endpointInferenceQueue, gpuInferenceQueue,
} from '../contracts/queues';
import { environmentQueue } from '../contracts/episode';
import type { Store } from '../store/store';
import type { FleetConfig } from './fleet-config';
import { parseIdentity, type WorkerIdentity } from './identity';

/**
 * `workers list`: who polls evalctl's queues, from Temporal itself (DescribeTaskQueue). Temporal cannot
 * list task queues, so the queues asked about are the fixed ones, plus the queues of every model and agent
 * environment of the assignments not yet ended and of the 100 most recent ones (from their config
 * snapshots), plus those of a fleet config (`-c`) and `--queue`. A GPU worker whose tag no assignment used
 * yet, or a task worker of an environment no assignment used yet, shows up only with `-c` or `--queue`.
 * Pollers stay listed for a few minutes after their last poll, hence "last seen".
 */

/** One worker as seen by Temporal, merged over the queues it polls. */
export interface PollerRow {
  identity: string;
  /** Fields parsed from an evalctl identity; absent for other programs' workers. */
  worker?: WorkerIdentity;
  queues: string[];
  lastSeen: string;
  /** Rate limit the worker asked for on a rate-limited queue. */
  ratePerSecond?: number;
}

/** The queues of a fleet config's groups. */
export function fleetQueues(config: FleetConfig): string[] {
  return config.workers.flatMap((g) => [
    ...(g.gpuType ? [gpuInferenceQueue(g.gpuType)] : []),
    ...g.queues,
    ...Object.keys(g.queueRates).map(endpointInferenceQueue),
  ]);
}

/** Recent assignments looked at besides the live ones: their workers are likely still polling. */
const RECENT_ASSIGNMENTS = 100;

/** Inference queues of every model of the assignments that are pending, running or paused, or recent. */
export async function liveAssignmentQueues(store: Store): Promise<string[]> {
  const queues = new Set<string>();
  const live = store.assignments.find({ status: { $in: ['pending', 'running', 'paused'] } }, { projection: { config: 1 } });
  const recent = store.assignments.find({}, { projection: { config: 1 }, sort: { createdAt: -1 }, limit: RECENT_ASSIGNMENTS });
  for await (const doc of concat(live, recent)) {
    for (const raw of Array.isArray(doc.config.models) ? doc.config.models : []) {
      const model = ModelConfigSchema.safeParse(raw);
      if (model.success) queues.add(inferenceQueueFor(model.data));
    }
    // Agent tasks: the environment's shared queue, which every task worker of that environment polls.
    for (const raw of Array.isArray(doc.config.tasks) ? doc.config.tasks : []) {
      const name = (raw as { kind?: unknown; environment?: { name?: unknown } }).environment?.name;
      if ((raw as { kind?: unknown }).kind === 'agent' && typeof name === 'string') queues.add(environmentQueue(name));
    }
  }
  return [...queues];
}

async function* concat<T>(...sources: AsyncIterable<T>[]): AsyncIterable<T> {
  for (const source of sources) yield* source;
}

/** The fixed queues first, then the others sorted, without duplicates. */
export function queueSet(extra: readonly string[]): string[] {
  const fixed = [ORCHESTRATOR_QUEUE, INFERENCE_QUEUE, SCORING_QUEUE];
  return [...fixed, ...[...new Set(extra)].filter((q) => !fixed.includes(q)).sort()];
}

const QUEUE_TYPES = [
  { type: 1, label: 'workflow' },
  { type: 2, label: 'activity' },
] as const;

function timestampToDate(ts: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined): Date {
  if (!ts) return new Date(0);
  return new Date(Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/** Every poller of the given queues (workflow and activity task queues), one row per worker identity. */
export async function listPollers(client: Client, namespace: string, queues: readonly string[]): Promise<PollerRow[]> {
  const rows = new Map<string, PollerRow & { seen: number }>();
  const asks = queues.flatMap((name) => QUEUE_TYPES.map((t) => ({ name, ...t })));
  const answers = await Promise.all(asks.map(async (ask) => ({
    ask,
    res: await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: ask.name, kind: 1 }, taskQueueType: ask.type }),
  })));
  for (const { ask, res } of answers) {
    for (const p of res.pollers ?? []) {
      const identity = p.identity ?? '';
      const seen = timestampToDate(p.lastAccessTime).getTime();
      const row = rows.get(identity) ?? { identity, worker: parseIdentity(identity), queues: [], lastSeen: '', seen: 0 };
      row.queues.push(`${ask.name} (${ask.label})`);
      if (seen > row.seen) row.seen = seen;
      if (ask.label === 'activity' && p.ratePerSecond && p.ratePerSecond > 0 && p.ratePerSecond < 100_000) row.ratePerSecond = p.ratePerSecond;
      rows.set(identity, row);
    }
  }
  return [...rows.values()]
    .map(({ seen, ...row }) => ({ ...row, lastSeen: new Date(seen).toISOString() }))
    .sort((a, b) => (a.worker?.type ?? '').localeCompare(b.worker?.type ?? '') || a.identity.localeCompare(b.identity));
}
