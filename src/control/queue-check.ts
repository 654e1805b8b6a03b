import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import type { AssignmentConfig } from '../config/schema';
import { ORCHESTRATOR_QUEUE, SCORING_QUEUE } from '../contracts';
import { INLINE_SCORERS, inferenceQueueFor } from '../plan/jobs';
import { listPollers, type PollerRow } from '../worker/pollers';

/** A queue the assignment needs that no worker polls, and the command that would serve it. */
export interface UnservedQueue {
  queue: string;
  hint: string;
}

/** Pollers older than this are workers that have gone away. */
const RECENT_MS = 2 * 60_000;

/** The task queues an assignment's work will be sent to, with how to start a worker for each. */
export function queuesNeeded(config: AssignmentConfig): UnservedQueue[] {
  const needed = new Map<string, string>([[ORCHESTRATOR_QUEUE, 'evalctl worker orchestrator (or: evalctl worker all)']]);
  for (const model of config.models) {
    const queue = inferenceQueueFor(model);
    if (model.rateLimit) needed.set(queue, `evalctl worker inference (or: evalctl worker all; both pick up the model's queue, limit ${model.rateLimit.requestsPerSecond}/s, by themselves)`);
    else if (model.resources.gpuType) needed.set(queue, `evalctl worker inference --gpu-type ${model.resources.gpuType} --gpus <ids>`);
    else needed.set(queue, 'evalctl worker inference (or: evalctl worker all)');
  }
  const scorers = config.tasks.map((t) => ('scorer' in t && t.scorer ? t.scorer.kind : 'exact'));
  if (scorers.some((kind) => !INLINE_SCORERS.has(kind))) needed.set(SCORING_QUEUE, 'evalctl worker scoring (or: evalctl worker all)');
  return [...needed].map(([queue, hint]) => ({ queue, hint }));
}

/** How long `start` gives workers to show up on a queue before it warns: one that was just started, or one that picks up a rate-limited model's queue when it sees the assignment (every 2 s). */
export const QUEUE_GRACE_MS = 6_000;

/**
 * The needed queues that no worker has polled recently: work sent there would wait silently, so `start`
 * says so. A queue unserved at first is asked about again until `graceMs` has passed, so a worker that is
 * starting up or about to pick the queue up is not reported. Best effort: an error asking Temporal is not
 * a reason to fail a start.
 */
export async function unservedQueues(client: Client, namespace: string, config: AssignmentConfig, graceMs = QUEUE_GRACE_MS): Promise<UnservedQueue[]> {
  const deadline = Date.now() + graceMs;
  let missing = queuesNeeded(config);
  try {
    for (;;) {
      const pollers = await listPollers(client, namespace, missing.map((n) => n.queue));
      const recent = pollers.filter((p) => Date.now() - new Date(p.lastSeen).getTime() < RECENT_MS);
      const served = new Set(recent.flatMap((p) => p.queues.map((q) => q.replace(/ \(.*\)$/, ''))));
      missing = missing.filter((n) => !served.has(n.queue));
      if (missing.length === 0 || Date.now() >= deadline) return missing;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } catch {
    return [];
  }
}

/**
 * A poller seen more recently than this is a live worker: an idle worker starts a new long poll at least
 * every ~70 s, while Temporal keeps listing a gone one for minutes.
 */
export const ALIVE_MS = 90_000;

/** Whether a process id exists on this host (signal 0 checks without signalling). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a listed poller is a live worker: seen within ALIVE_MS, and, for an evalctl worker of this
 * host, its process still exists (a killed worker is known gone at once).
 */
export function isAlivePoller(row: Pick<PollerRow, 'lastSeen' | 'worker'>, now = Date.now(), host = hostname()): boolean {
  if (now - Date.parse(row.lastSeen) > ALIVE_MS) return false;
  return !(row.worker && row.worker.host === host.replace(/[@:;=\s]/g, '-') && !pidExists(row.worker.pid));
}

/** Whether a live worker polls the orchestrator queue for workflow tasks; null when Temporal cannot say. */
export async function orchestratorPolled(client: Client, namespace: string): Promise<boolean | null> {
  try {
    const rows = await listPollers(client, namespace, [ORCHESTRATOR_QUEUE]);
    return rows.some((r) => isAlivePoller(r) && r.queues.includes(`${ORCHESTRATOR_QUEUE} (workflow)`));
  } catch {
    return null;
  }
}
