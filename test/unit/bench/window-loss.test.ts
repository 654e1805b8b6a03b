import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowLoss } from '../../../scripts/bench/endpoint';

test('window loss: a late call is ramp, a gap is middle, a straggler is tail', () => {
  // Window of 2. Call A at 0..1000, B arrives at 100 (ramp: half the window idle for 100 ms = 50 ms).
  // Both answer; C and D arrive 200 ms after the first answer (middle). E runs alone at the end (tail).
  const arrivals = [0, 100, 1200, 1200, 2200];
  const answers = [1000, 1100, 2200, 2200, 3200];
  const loss = windowLoss({ arrivals, answers }, 2);
  assert.equal(loss.rampMs, 50);
  // 1000..1100: one open (half idle, 50); 1100..1200: none open (100).
  assert.equal(loss.middleMs, 150);
  // 2200..3200: one of two open.
  assert.equal(loss.tailMs, 500);
});

test('window loss: a window that stays full loses nothing', () => {
  const loss = windowLoss({ arrivals: [0, 0, 1000, 1000], answers: [1000, 1000, 2000, 2000] }, 2);
  assert.deepEqual(loss, { rampMs: 0, middleMs: 0, tailMs: 0 });
});

test('window loss: a window that never fills says so, and all its idle time is ramp', () => {
  const loss = windowLoss({ arrivals: [0, 0], answers: [1000, 1000] }, 4);
  assert.equal(loss.neverFull, undefined, 'two calls fill a window of four as far as two calls can');
  const partly = windowLoss({ arrivals: [0, 500, 1000], answers: [1000, 1500, 2000] }, 3);
  assert.equal(partly.neverFull, true);
  assert.equal(partly.middleMs + partly.tailMs, 0);
  assert.ok(partly.rampMs > 0);
});
