import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, bootstrapInterval, costOf, percentile, sumUsage, tInterval, tQuantile975, wilson } from '../../../src/metrics';

const close = (actual: number, expected: number, eps = 5e-4) => assert.ok(Math.abs(actual - expected) <= eps, `${actual} != ${expected}`);

describe('confidence intervals', () => {
  const WILSON: Array<[number, number, number, number]> = [
    [8, 10, 0.4902, 0.9433],
    [0, 10, 0, 0.2775],
    [10, 10, 0.7225, 1],
    [50, 100, 0.4038, 0.5962],
    [1, 1, 0.2065, 1],
  ];
  for (const [k, n, lo, hi] of WILSON) {
    it(`Wilson ${k}/${n} -> [${lo}, ${hi}]`, () => {
      const [a, b] = wilson(k, n);
      close(a, lo);
      close(b, hi);
    });
  }

  it('t quantiles: table and large-df approximation', () => {
    close(tQuantile975(1), 12.706);
    close(tQuantile975(9), 2.262);
    close(tQuantile975(60), 2.0003, 2e-3);
    close(tQuantile975(1e6), 1.96, 1e-3);
  });

  it('t interval of 1..10: mean 5.5 ± 2.262 * 3.0277 / sqrt(10)', () => {
    const [lo, hi] = tInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    close(lo, 3.3341);
    close(hi, 7.6659);
  });

  it('aggregate: pass/fail uses Wilson, continuous uses t, bootstrap when asked; accuracy from passed flags', () => {
    const pf = aggregate([...Array(8).fill({ value: 1, passed: true }), ...Array(2).fill({ value: 0, passed: false })]);
    assert.equal(pf.method, 'wilson');
    assert.deepEqual([pf.n, pf.mean, pf.passed, pf.accuracy], [10, 0.8, 8, 0.8]);
    close(pf.ci95[0], 0.4902);
    close(pf.ci95[1], 0.9433);
    const cont = aggregate([0.2, 0.4, 0.6, 0.8].map((value) => ({ value })));
    assert.equal(cont.method, 't');
    assert.equal(cont.accuracy, null);
    close(cont.mean, 0.5);
    close(cont.ci95[0], 0.5 - (3.182 * cont.stddev) / 2);
    const boot = aggregate([0.2, 0.4, 0.6, 0.8].map((value) => ({ value })), { method: 'bootstrap' });
    assert.equal(boot.method, 'bootstrap');
    assert.ok(boot.ci95[0] >= 0.2 && boot.ci95[0] < 0.5 && boot.ci95[1] > 0.5 && boot.ci95[1] <= 0.8);
    assert.deepEqual(aggregate([]), { n: 0, mean: 0, ci95: [0, 0], method: 'wilson', passed: 0, accuracy: null, stddev: 0 });
  });

  it('bootstrap is seeded: same seed, same interval', () => {
    const values = [0.1, 0.5, 0.9, 0.3, 0.7];
    assert.deepEqual(bootstrapInterval(values, 500, 3), bootstrapInterval(values, 500, 3));
  });
});

describe('percentiles and cost', () => {
  it('percentile interpolates linearly', () => {
    assert.equal(percentile([10, 20, 30, 40], 50), 25);
    assert.equal(percentile([5, 1, 3], 0), 1);
    assert.equal(percentile([5, 1, 3], 100), 5);
    close(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 9.55);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('cost from usage and per-1k prices; totals add up', () => {
    close(costOf({ inputTokens: 2000, outputTokens: 500 }, { inputPer1k: 0.5, outputPer1k: 1.5 }), 1.75, 1e-12);
    assert.deepEqual(sumUsage([{ usage: { inputTokens: 1, outputTokens: 2 }, cost: 0.5 }, { usage: { inputTokens: 3, outputTokens: 4 } }]), { inputTokens: 4, outputTokens: 6, cost: 0.5 });
  });
});
