import { mulberry32 } from '../datasets/random';

/** Aggregates with 95% confidence intervals: what a job or an assignment scored, and how sure we are. */

/** A scored sample as aggregates see it. */
export interface ScoreValue {
  value: number;
  passed?: boolean;
}

/** Mean score with its 95% interval; `accuracy` is the pass rate over samples that say passed/failed. */
export interface Aggregate {
  n: number;
  mean: number;
  ci95: [number, number];
  method: 'wilson' | 't' | 'bootstrap';
  /** Samples with passed === true. */
  passed: number;
  /** passed / (samples with a passed flag); null when no sample has one. */
  accuracy: number | null;
  stddev: number;
}

const Z95 = 1.959963984540054;

/** Wilson score interval for `successes` out of `n` (good near 0 and 1, unlike the normal approximation). */
export function wilson(successes: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 97.5% quantile of Student's t with `df` degrees of freedom (table to 30, Cornish-Fisher beyond). */
export function tQuantile975(df: number): number {
  if (df < 1) return Infinity;
  if (df <= 30) return T975[Math.floor(df) - 1];
  const z = Z95;
  const z3 = z ** 3;
  const z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/** Mean and sample standard deviation. */
function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** t interval of a mean. */
export function tInterval(values: readonly number[]): [number, number] {
  const { mean, std } = meanStd(values);
  if (values.length < 2) return [mean, mean];
  const half = (tQuantile975(values.length - 1) * std) / Math.sqrt(values.length);
  return [mean - half, mean + half];
}

/** Percentile bootstrap interval of a mean, seeded so reports are reproducible. */
export function bootstrapInterval(values: readonly number[], resamples = 2000, seed = 1): [number, number] {
  if (values.length === 0) return [0, 0];
  const rand = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[Math.floor(rand() * values.length)];
    means[r] = sum / values.length;
  }
  means.sort();
  return [percentile(means, 2.5), percentile(means, 97.5)];
}

/**
 * Aggregates scores. Values all 0 or 1 are a pass rate: Wilson interval. Otherwise a t interval of the
 * mean, or a bootstrap when asked for. No scores: n 0, mean 0, interval [0, 0].
 */
export function aggregate(scores: readonly ScoreValue[], opts: { method?: 't' | 'bootstrap'; seed?: number } = {}): Aggregate {
  const values = scores.map((s) => s.value);
  const flagged = scores.filter((s) => typeof s.passed === 'boolean');
  const passed = flagged.filter((s) => s.passed === true).length;
  const accuracy = flagged.length > 0 ? passed / flagged.length : null;
  const { mean, std } = meanStd(values);
  const base = { n: scores.length, mean, passed, accuracy, stddev: std };
  if (scores.length === 0) return { ...base, ci95: [0, 0], method: 'wilson' };
  if (values.every((v) => v === 0 || v === 1)) {
    const ones = values.filter((v) => v === 1).length;
    return { ...base, ci95: wilson(ones, values.length), method: 'wilson' };
  }
  if (opts.method === 'bootstrap') return { ...base, ci95: bootstrapInterval(values, 2000, opts.seed ?? 1), method: 'bootstrap' };
  return { ...base, ci95: tInterval(values), method: 't' };
}

/** The p-th percentile (0..100) with linear interpolation; NaN for no values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
