import type { LatencyConfig, SimulatedProviderConfig } from '../config/schema';
import { mulberry32, normalDraw, seedFrom } from '../datasets/random';
import { logCall } from './call-log';
import { abortedError, ProviderError } from './errors';
import { abortableSleep } from './sleep';
import type { InferenceRequest, Prediction, Provider, ProviderContext } from './types';

/**
 * A simulated model, for demos, tests and benchmarks: no inference happens. Latency, the permanent
 * failures and right/wrong answers are seeded per (seed, sample key), so they repeat across runs; the sample
 * key holds the epoch (from epoch 2 on), so each epoch of a task with epochs draws its own answer. Retryable
 * errors and 429s are drawn per call, so a retry can succeed like it would against a real endpoint.
 */
export class SimulatedProvider implements Provider {
  constructor(
    private readonly modelId: string,
    private readonly config: SimulatedProviderConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /** Sleeps the sampled latency, then fails or answers as configured; logs the call when asked to. */
  async infer(req: InferenceRequest, ctx: ProviderContext): Promise<Prediction> {
    const started = Date.now();
    const base = { sampleKey: req.sampleKey, model: this.modelId };
    logCall(ctx.env, { event: 'start', ...base });
    try {
      const rand = mulberry32(seedFrom(this.config.seed, req.sampleKey));
      const latency = sampleLatency(this.config.latencyMs, rand);
      await abortableSleep(latency, ctx.signal, () => abortedError('simulated call'));
      const prediction = this.answer(req, rand, Date.now() - started);
      logCall(ctx.env, { event: 'end', ...base, latencyMs: prediction.latencyMs });
      return prediction;
    } catch (err) {
      const aborted = err instanceof ProviderError && err.type === abortedError('').type;
      logCall(ctx.env, { event: aborted ? 'abort' : 'error', ...base, error: (err as Error).message });
      throw err;
    }
  }

  private answer(req: InferenceRequest, rand: () => number, latencyMs: number): Prediction {
    const { config } = this;
    // Draw in a fixed order from the per-sample stream so each decision is stable for the sample.
    const permanentDraw = rand();
    const correctDraw = rand();
    if (permanentDraw < config.permanentErrorRate) {
      throw new ProviderError('simulated permanent error (400 bad request)', { retryable: false, status: 400 });
    }
    if (this.random() < config.rateLimitRate) {
      throw new ProviderError('simulated rate limit (429)', { retryable: true, status: 429, retryAfterMs: config.retryAfterMs });
    }
    if (this.random() < config.errorRate) {
      throw new ProviderError('simulated transient error (503)', { retryable: true, status: 503 });
    }
    const text = correctDraw < config.accuracy ? rightAnswer(req.target, req.sampleKey) : wrongAnswer(req.target, rand);
    return {
      text,
      usage: { inputTokens: Math.max(1, Math.ceil(req.prompt.length / 4)), outputTokens: Math.max(1, Math.ceil(text.length / 4)) },
      latencyMs,
      model: `simulated/${this.modelId}`,
    };
  }
}

/** Milliseconds of one call, drawn from the configured distribution (never negative). */
export function sampleLatency(latency: LatencyConfig, rand: () => number): number {
  if (typeof latency === 'number') return latency;
  switch (latency.distribution) {
    case 'uniform':
      return latency.min + (Math.max(latency.max, latency.min) - latency.min) * rand();
    case 'normal':
      return Math.max(0, latency.mean + latency.stddev * normalDraw(rand));
    case 'lognormal':
      return latency.median * Math.exp(latency.sigma * normalDraw(rand));
  }
}

function rightAnswer(target: unknown, sampleKey: string): string {
  const first = Array.isArray(target) ? target[0] : target;
  if (first === undefined || first === null) return `simulated answer ${sampleKey.slice(0, 8)}`;
  return typeof first === 'string' ? first : JSON.stringify(first);
}

/** A plausible wrong answer of the same shape: another letter, another number, or a non-answer. */
function wrongAnswer(target: unknown, rand: () => number): string {
  const first = Array.isArray(target) ? target[0] : target;
  const text = first === undefined || first === null ? '' : String(first).trim();
  if (/^[A-Z]$/.test(text)) {
    const letters = ['A', 'B', 'C', 'D'].filter((l) => l !== text);
    return letters[Math.floor(rand() * letters.length)];
  }
  if (text !== '' && Number.isFinite(Number(text))) return String(Number(text) + 1 + Math.floor(rand() * 9));
  return 'I am not sure.';
}
