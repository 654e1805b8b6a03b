import type { Client } from '@temporalio/client';
import type { AssignmentConfig } from '../config/schema';
import { ORCHESTRATOR_QUEUE, SCORING_QUEUE } from '../contracts';
import { INLINE_SCORERS, inferenceQueueFor } from '../plan/jobs';
import { listPollers } from '../worker/pollers';

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
    if (model.rateLimit) needed.set(queue, `evalctl worker inference --queue-rate ${model.id}=${model.rateLimit.requestsPerSecond}`);
    else if (model.resources.gpuType) needed.set(queue, `evalctl worker inference --gpu-type ${model.resources.gpuType} --gpus <ids>`);
    else needed.set(queue, 'evalctl worker inference (or: evalctl worker all)');
  }
  const scorers = config.tasks.map((t) => ('scorer' in t && t.scorer ? t.scorer.kind : 'exact'));
  if (scorers.some((kind) => !INLINE_SCORERS.has(kind))) needed.set(SCORING_QUEUE, 'evalctl worker scoring (or: evalctl worker all)');
  return [...needed].map(([queue, hint]) => ({ queue, hint }));
}

/**
 * The needed queues that no worker has polled recently: work sent there would wait silently, so `start`
 * says so at once. Best effort: an error asking Temporal is not a reason to fail a start.
 */
export async function unservedQueues(client: Client, namespace: string, config: AssignmentConfig): Promise<UnservedQueue[]> {
  const needed = queuesNeeded(config);
  try {
    const pollers = await listPollers(client, namespace, needed.map((n) => n.queue));
    const recent = pollers.filter((p) => Date.now() - new Date(p.lastSeen).getTime() < RECENT_MS);
    const served = new Set(recent.flatMap((p) => p.queues.map((q) => q.replace(/ \(.*\)$/, ''))));
    return needed.filter((n) => !served.has(n.queue));
  } catch {
    return [];
  }
}
