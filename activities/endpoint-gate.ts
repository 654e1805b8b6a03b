import { randomBytes } from 'node:crypto';
import type { AdaptiveConcurrencyConfig, ModelConfig } from '../src/config/schema';
import { endpointName } from '../src/config/endpoint';
import { ProviderError } from '../src/providers/errors';
import {
  claimLease, ensureEndpoint, recordOverload, recordSuccess, releaseLease, type EndpointCollections, type EndpointLease, type SuccessTally,
} from '../src/store/endpoint-limits';

/**
 * Holds every call to a model with `adaptiveConcurrency` to its endpoint's shared limit (see
 * src/store/endpoint-limits.ts): a lease is claimed before the call and given back after it, and the
 * endpoint's answer moves the limit: a 429 or 503 cuts it and holds every worker for its Retry-After, a
 * success helps it grow. A call waiting for a place wakes when this process gives one back, else polls.
 */

/** How often a waiting call asks again when no place of this process came free. */
const POLL_MS = 100;
/** Statuses that mean the endpoint is overloaded. */
const OVERLOAD_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** The gate of one worker process. */
export class EndpointGate {
  private readonly ensured = new Map<string, Promise<void>>();
  private readonly tallies = new Map<string, SuccessTally>();
  private waiters: Array<() => void> = [];

  constructor(private readonly cols: EndpointCollections, private readonly holder: string) {}

  /** Runs `call` holding a place at the model's endpoint, or directly when the model has no adaptive concurrency. */
  async run<T>(model: ModelConfig, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const cfg = model.adaptiveConcurrency;
    if (!cfg) return call();
    const name = endpointName(model);
    await this.ensure(name, cfg);
    // A lease outlives the longest call (the client's timeout), so one a killed worker left stops counting.
    const lease = await this.claim(name, model.timeoutMs + 30_000, signal);
    try {
      const answer = await call();
      let tally = this.tallies.get(name);
      if (!tally) this.tallies.set(name, (tally = { changedAt: 0, successes: 0 }));
      await recordSuccess(this.cols.endpoints, name, cfg, tally).catch(() => undefined);
      return answer;
    } catch (err) {
      if (err instanceof ProviderError && err.status !== undefined && OVERLOAD_STATUSES.has(err.status)) {
        await recordOverload(this.cols, lease, cfg, err.retryAfterMs).catch(() => undefined);
      }
      throw err;
    } finally {
      await releaseLease(this.cols, lease).catch(() => undefined);
      this.wakeAll();
    }
  }

  private ensure(name: string, cfg: AdaptiveConcurrencyConfig): Promise<void> {
    const key = `${name}\n${JSON.stringify(cfg)}`;
    let done = this.ensured.get(key);
    if (!done) {
      done = ensureEndpoint(this.cols.endpoints, name, cfg).catch((err: unknown) => {
        this.ensured.delete(key);
        throw err;
      });
      this.ensured.set(key, done);
    }
    return done;
  }

  private async claim(name: string, leaseMs: number, signal: AbortSignal): Promise<EndpointLease> {
    const id = `${this.holder}/${randomBytes(6).toString('hex')}`;
    for (;;) {
      if (signal.aborted) throw new Error('aborted while waiting for a place at the endpoint');
      const got = await claimLease(this.cols, name, id, leaseMs, POLL_MS);
      if ('id' in got) return got;
      // Jitter spreads the workers' next tries; a Retry-After is waited out whole.
      await this.pause(got.reason === 'retry-after' ? got.waitMs : got.waitMs * (0.5 + Math.random()), signal, got.reason !== 'retry-after');
    }
  }

  /** Waits `ms`, or until a place of this process comes free (when `wakeable`), or until the abort. */
  private pause(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.waiters.push(done);
    });
  }

  private wakeAll(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const wake of woken) wake();
  }
}
