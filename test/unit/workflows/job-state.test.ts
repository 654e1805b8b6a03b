import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../../../workflows/job-state';
import { emptyCounts, type JobWorkflowInput } from '../../../src/contracts';

function input(total: number, window: number): JobWorkflowInput {
  return {
    version: 1, assignmentId: 'a', mode: 'all', cursor: 0, inFlight: [], retryQueue: [], counts: emptyCounts(total), paused: false, runs: 0,
    retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 1000 },
    job: { jobId: 'm/t', modelId: 'm', taskId: 't', total, window, inferenceQueue: 'q', inferTimeoutMs: 1000 },
  };
}

test('the window never holds more than its size and every index is handed out once', () => {
  const state = new JobState(input(10, 4));
  const first = state.take(100);
  assert.deepEqual(first, [0, 1, 2, 3]);
  assert.equal(state.room(), 0);
  assert.deepEqual(state.take(100), []);
  state.complete(1, 'succeeded');
  assert.deepEqual(state.take(100), [4]);
});

test('a second outcome for the same index is not counted twice', () => {
  const state = new JobState(input(3, 3));
  state.take(3);
  assert.equal(state.complete(0, 'succeeded'), true);
  assert.equal(state.complete(0, 'succeeded'), false);
  assert.equal(state.counts.succeeded, 1);
});

test('state survives continue-as-new: in-flight samples, cursor and counts carry over', () => {
  const base = input(10, 3);
  const state = new JobState(base);
  state.take(3);
  state.assign(0, 'k0', true);
  state.assign(1, 'k1', false);
  state.assign(2, 'k2', true);
  state.complete(1, 'failed');
  const next = new JobState(state.toInput(base));
  assert.equal(next.counts.failed, 1);
  assert.equal(next.counts.running, 2);
  assert.deepEqual(next.inFlightSamples().map((s) => s.index), [0, 2]);
  assert.equal(next.complete(0, 'succeeded'), true);
  assert.deepEqual(next.take(5), [3, 4]);
  assert.equal(state.toInput(base).runs, 1);
});

test('an adopted run canceled by someone else is planned again, not counted', () => {
  const state = new JobState(input(2, 2));
  state.take(2);
  state.onOutcome({ index: 0, sampleKey: 'k', status: 'canceled' }, false);
  assert.equal(state.counts.canceled, 0);
  assert.deepEqual(state.take(1), [0]);
  state.onOutcome({ index: 0, sampleKey: 'k', status: 'canceled' }, true);
  assert.equal(state.counts.canceled, 1);
});

test('paused jobs start nothing; finishing needs every index ended', () => {
  const state = new JobState(input(2, 2));
  state.paused = true;
  assert.equal(state.canStart(1), false);
  state.paused = false;
  assert.equal(state.canStart(8), true, 'a short tail still starts when fewer than the minimum batch remain');
  state.take(2);
  assert.equal(state.finished(), false);
  state.complete(0, 'succeeded');
  state.complete(1, 'reused');
  assert.equal(state.finished(), true);
});

test('cancelPending counts never-started samples as canceled', () => {
  const state = new JobState(input(10, 2));
  state.take(2);
  state.complete(0, 'succeeded');
  state.complete(1, 'canceled');
  state.cancelPending();
  assert.equal(state.counts.canceled, 9);
  assert.equal(state.finished(), true);
});

test('a window smaller than the minimum batch still refills', () => {
  const state = new JobState(input(100, 4));
  state.take(100);
  assert.equal(state.canStart(8), false);
  state.complete(0, 'succeeded');
  assert.equal(state.canStart(8), true, 'one free place in a window of 4 is enough');
  const big = new JobState(input(100, 64));
  big.take(100);
  big.complete(0, 'succeeded');
  assert.equal(big.canStart(8), false, 'a large window waits for a batch of 8');
});
