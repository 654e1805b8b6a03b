import { passAtKOf } from '../config/schema-epochs';
import { aggregate, type Aggregate, type ScoreValue } from './aggregate';

/**
 * Reducers of a task with epochs: one sample's epoch scores in, the sample's score out. Aggregates (and
 * their confidence intervals) are then taken over samples, never over epochs: k epochs of one question are
 * not k independent questions.
 */

/**
 * The unbiased pass@k estimator over n draws of which c passed: 1 - C(n-c, k) / C(n, k), computed as a
 * product (1 - k/i for i in n-c+1..n) so large n neither overflows nor loses precision. No pass scores 0;
 * fewer than k failing draws (n - c < k, which includes n < k) scores 1.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 0 || c < 0 || c > n || k < 1) {
    throw new RangeError(`pass@k needs whole numbers 0 <= c <= n and k >= 1 (n=${n}, c=${c}, k=${k})`);
  }
  if (c === 0) return 0;
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/** Whether one epoch passed: its scorer's verdict, or a full score when the scorer gives none. */
export function epochPassed(score: ScoreValue): boolean {
  return typeof score.passed === 'boolean' ? score.passed : score.value >= 1;
}

/** The most frequent value; ties go to the lowest, so the result does not depend on epoch order. */
function mode(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  let bestCount = 0;
  for (const [v, count] of counts) {
    if (count > bestCount || (count === bestCount && v < best)) {
      best = v;
      bestCount = count;
    }
  }
  return best;
}

/**
 * One sample's score from the scores of its epochs that were scored (failed epochs have none). Returns
 * null for no scores. `majority` and `pass@k` read each epoch's pass verdict (epochPassed).
 */
export function reduceEpochs(reducer: string, scores: readonly ScoreValue[]): ScoreValue | null {
  if (scores.length === 0) return null;
  const values = scores.map((s) => s.value);
  const k = passAtKOf(reducer);
  if (k !== null) return { value: passAtK(scores.length, scores.filter(epochPassed).length, k) };
  switch (reducer) {
    case 'max':
      return { value: Math.max(...values) };
    case 'min':
      return { value: Math.min(...values) };
    case 'mode':
      return { value: mode(values) };
    case 'majority': {
      const passed = scores.filter(epochPassed).length * 2 > scores.length;
      return { value: passed ? 1 : 0, passed };
    }
    case 'mean':
      return { value: values.reduce((a, b) => a + b, 0) / values.length };
    default:
      throw new RangeError(`unknown reducer ${JSON.stringify(reducer)}`);
  }
}

/** Reduces every sample's epoch scores and aggregates the sample scores: the interval is over samples. */
export function aggregateEpochs(bySample: Iterable<readonly ScoreValue[]>, reducer: string): Aggregate | null {
  const reduced: ScoreValue[] = [];
  for (const scores of bySample) {
    const one = reduceEpochs(reducer, scores);
    if (one) reduced.push(one);
  }
  return reduced.length > 0 ? aggregate(reduced) : null;
}
