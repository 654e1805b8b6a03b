import { endpointInferenceQueue } from '../contracts/queues';
import type { Store } from '../store/store';
import { liveModelRates, type FollowModels } from './launch';

/** How often a worker looks for rate-limited models of new assignments. */
export const FOLLOW_INTERVAL_MS = 2_000;

/** What the follower does when a model's queue needs polling, or polling with another limit. */
export type ServeQueue = (queue: string, modelId: string, requestsPerSecond: number) => Promise<void>;

/**
 * Watches the assignments not yet ended for rate-limited models and has their queues served as they appear,
 * so a worker started before an assignment (a fleet, `worker all` beside `start`) serves it without a
 * restart. A queue already served keeps being polled after its assignments end (a poller costs nothing);
 * a lower limit in a new snapshot replaces the queue's worker. Errors reading MongoDB are retried.
 */
export function followModelQueues(opts: {
  store: Store;
  follow: FollowModels;
  /** Limits given on the command line: those queues are served already and never followed. */
  fixed: Record<string, number>;
  serve: ServeQueue;
  onError: (err: unknown) => void;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  const served = new Map<string, number>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const tick = async (): Promise<void> => {
    const rates = await liveModelRates(opts.store, opts.follow);
    for (const [modelId, rps] of Object.entries(rates)) {
      if (opts.fixed[modelId] !== undefined || served.get(modelId) === rps) continue;
      if (served.has(modelId) && (served.get(modelId) ?? 0) < rps) continue;
      await opts.serve(endpointInferenceQueue(modelId), modelId, rps);
      served.set(modelId, rps);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await tick().catch(opts.onError);
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, opts.intervalMs ?? FOLLOW_INTERVAL_MS).unref();
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
