import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, aggregateEpochs, passAtK, reduceEpochs, wilson, type ScoreValue } from '../../../src/metrics';

/** C(n, k) exactly, as a BigInt: the closed form pass@k is defined by. */
function choose(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let out = 1n;
  for (let i = 1; i <= k; i++) out = (out * BigInt(n - k + i)) / BigInt(i);
  return out;
}

/** 1 - C(n-c, k) / C(n, k) from exact binomials, to 15 significant digits. */
function closedForm(n: number, c: number, k: number): number {
  const num = choose(n - c, k);
  const den = choose(n, k);
  const scale = 10n ** 15n;
  return 1 - Number((num * scale) / den) / 1e15;
}

const near = (a: number | undefined, b: number): void => assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, `${a} != ${b}`);
const s = (value: number, passed?: boolean): ScoreValue => (passed === undefined ? { value } : { value, passed });

describe('pass@k', () => {
  it('matches the closed form 1 - C(n-c,k)/C(n,k) for every c and k up to n = 30', () => {
    for (const n of [1, 2, 5, 10, 30]) {
      for (let k = 1; k <= n; k++) {
        for (let c = 0; c <= n; c++) {
          const got = passAtK(n, c, k);
          assert.ok(Math.abs(got - closedForm(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}: ${got} vs ${closedForm(n, c, k)}`);
        }
      }
    }
  });

  it('stays exact where the binomials overflow a double (n = 2000)', () => {
    // C(2000, 1000) is ~1e600: the product form never builds it.
    const got = passAtK(2000, 3, 1000);
    assert.ok(Number.isFinite(got));
    assert.ok(Math.abs(got - closedForm(2000, 3, 1000)) < 1e-12);
    assert.equal(passAtK(2000, 0, 1000), 0);
    assert.equal(passAtK(2000, 1001, 1000), 1, 'fewer than k failures: some pass among any k draws');
  });

  it('pass@1 is the pass rate; no pass is 0; fewer draws than k with a pass is 1', () => {
    near(passAtK(10, 3, 1), 0.3);
    assert.equal(passAtK(4, 0, 2), 0);
    assert.equal(passAtK(1, 1, 3), 1);
    assert.throws(() => passAtK(3, 4, 1), RangeError);
  });
});

describe('epoch reducers', () => {
  const epochs = [s(1, true), s(0, false), s(1, true), s(0.5, false)];
  it('mean, max, min', () => {
    assert.equal(reduceEpochs('mean', epochs)?.value, 0.625);
    assert.equal(reduceEpochs('max', epochs)?.value, 1);
    assert.equal(reduceEpochs('min', epochs)?.value, 0);
  });
  it('mode: the most frequent score, ties to the lowest', () => {
    assert.equal(reduceEpochs('mode', epochs)?.value, 1);
    assert.equal(reduceEpochs('mode', [s(1), s(0), s(0.5), s(0.5), s(1)])?.value, 0.5);
    assert.equal(reduceEpochs('mode', [s(1), s(0)])?.value, 0);
  });
  it('majority: more than half of the epochs passed (the scorer verdict, else a full score)', () => {
    assert.deepEqual(reduceEpochs('majority', [s(1, true), s(0, false), s(1, true)]), { value: 1, passed: true });
    assert.deepEqual(reduceEpochs('majority', [s(1, true), s(0, false)]), { value: 0, passed: false }, 'half is not a majority');
    assert.deepEqual(reduceEpochs('majority', [s(0.9, true), s(0.9, true), s(1)]), { value: 1, passed: true });
    assert.deepEqual(reduceEpochs('majority', [s(0.9), s(0.9), s(1)]), { value: 0, passed: false }, 'no verdict: only a full score passes');
  });
  it('pass@k counts passed epochs', () => {
    assert.equal(reduceEpochs('pass@2', epochs)?.value, passAtK(4, 2, 2));
    near(reduceEpochs('pass@2', epochs)?.value, 1 - 1 / 6);
  });
  it('no scored epoch is no score; an unknown reducer throws', () => {
    assert.equal(reduceEpochs('mean', []), null);
    assert.throws(() => reduceEpochs('median', epochs), RangeError);
  });
});

describe('aggregates over samples, not epochs', () => {
  // Three samples x two epochs with known verdicts: (pass, pass), (pass, fail), (fail, fail).
  const bySample = [[s(1, true), s(1, true)], [s(1, true), s(0, false)], [s(0, false), s(0, false)]];
  it('mean: a t interval over the three sample means', () => {
    const agg = aggregateEpochs(bySample, 'mean');
    assert.equal(agg?.n, 3);
    assert.equal(agg?.mean, 0.5);
    assert.deepEqual(agg?.ci95, aggregate([s(1), s(0.5), s(0)]).ci95);
    assert.equal(agg?.method, 't');
  });
  it('pass@2, max, majority, min: Wilson over 3 samples, never over 6 epochs', () => {
    near(aggregateEpochs(bySample, 'pass@2')?.mean, 2 / 3);
    assert.deepEqual(aggregateEpochs(bySample, 'pass@2')?.ci95, wilson(2, 3));
    assert.deepEqual(aggregateEpochs(bySample, 'max')?.ci95, wilson(2, 3));
    near(aggregateEpochs(bySample, 'majority')?.mean, 1 / 3);
    near(aggregateEpochs(bySample, 'min')?.mean, 1 / 3);
    assert.notDeepEqual(aggregateEpochs(bySample, 'pass@2')?.ci95, wilson(3, 6));
  });
  it('pass@1 over epochs equals the mean pass rate', () => {
    near(aggregateEpochs(bySample, 'pass@1')?.mean, aggregateEpochs(bySample, 'mean')?.mean ?? NaN);
  });
  it('samples with no scored epoch are left out; none at all is no aggregate', () => {
    assert.equal(aggregateEpochs([[s(1, true)], []], 'mean')?.n, 1);
    assert.equal(aggregateEpochs([], 'mean'), null);
  });
});
