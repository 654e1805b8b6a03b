import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../../../workflows/job-state';
import { emptyCounts, type JobWorkflowInput, type PreparedSample } from '../../../src/contracts';

function input(total: number, window: number): JobWorkflowInput {
  return {
    version: 1, assignmentId: 'a', mode: 'all', cursor: 0, inFlight: [], retryQueue: [], counts: emptyCounts(total), paused: false, runs: 0,
    retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 2, maxIntervalMs: 1000 },
    job: { jobId: 'm/t', modelId: 'm', taskId: 't', total, window, inferenceQueue: 'q', inferTimeoutMs: 1000, scoreInline: true },
  };
}

function prep(indexes: number[], reused: number[] = []): PreparedSample[] {
  return indexes.map((index) => ({ index, sampleKey: `k${index}`, inferenceKey: `i${index}`, reused: reused.includes(index), predictionFrom: null }));
}

/** Prepares and launches everything the window allows, as the workflow loop would. */
function fill(state: JobState): number[] {
  const indexes = state.takeForPrepare(1000);
  state.prepared(prep(indexes));
  return state.takeToLaunch().map((s) => s.index);
}

test('the window never holds more than its size and every index is handed out once', () => {
  const state = new JobState(input(10, 4));
  assert.deepEqual(fill(state), [0, 1, 2, 3]);
  assert.equal(state.room(), 0);
  assert.equal(state.canLaunch(), false, 'prepared samples wait for room');
  state.complete(1, 'succeeded');
  assert.deepEqual(state.takeToLaunch().map((s) => s.index), [4]);
  assert.equal(state.shouldPrepare(), true, 'the window still has samples left to prepare');
});

test('samples are prepared ahead of the window, at most two windows deep', () => {
  const state = new JobState(input(100, 5));
  const first = state.takeForPrepare(1000);
  assert.equal(first.length, 10);
  assert.equal(state.shouldPrepare(), false, 'one prepare call at a time');
  state.prepared(prep(first));
  assert.equal(state.takeToLaunch().length, 5);
  assert.equal(state.shouldPrepare(), false, 'a window of prepared samples is waiting already');
  state.complete(0, 'succeeded');
  assert.equal(state.takeToLaunch().length, 1);
  assert.equal(state.shouldPrepare(), true, 'fewer than a window waits: prepare more');
});

test('a second outcome for the same index is not counted twice', () => {
  const state = new JobState(input(3, 3));
  fill(state);
  assert.equal(state.complete(0, 'succeeded'), true);
  assert.equal(state.complete(0, 'succeeded'), false);
  assert.equal(state.counts.succeeded, 1);
});

test('reused samples end when prepared and never take a place in the window', () => {
  const state = new JobState(input(4, 2));
  const indexes = state.takeForPrepare(10);
  const reused = state.prepared(prep(indexes, [0, 2]));
  assert.deepEqual(reused.map((s) => s.index), [0, 2]);
  assert.equal(state.counts.reused, 2);
  assert.deepEqual(state.takeToLaunch().map((s) => s.index), [1, 3]);
});

test('state survives continue-as-new: in-flight samples, unstarted ones, cursor and counts carry over', () => {
  const base = input(20, 3);
  const state = new JobState(base);
  fill(state);
  state.assign(1, 'k1', false);
  state.complete(2, 'failed');
  const carried = state.toInput(base);
  assert.equal(carried.runs, 1);
  assert.deepEqual(carried.inFlight.map((s) => [s.index, s.own]), [[0, true], [1, false]]);
  assert.deepEqual(carried.retryQueue.sort((a, b) => a - b), [3, 4, 5], 'prepared but unstarted samples are prepared again');
  const next = new JobState(carried);
  assert.equal(next.counts.failed, 1);
  assert.equal(next.complete(0, 'succeeded'), true);
  const again = next.takeForPrepare(1000);
  assert.deepEqual(again.slice(0, 3).sort((a, b) => a - b), [3, 4, 5]);
  assert.ok(!again.includes(0) && !again.includes(1) && !again.includes(2), 'nothing in flight or ended is prepared twice');
});

test('an adopted run canceled by someone else is planned again, not counted', () => {
  const state = new JobState(input(2, 2));
  fill(state);
  state.onOutcome({ index: 0, sampleKey: 'k0', status: 'canceled' }, false);
  assert.equal(state.counts.canceled, 0);
  assert.deepEqual(state.takeForPrepare(5), [0]);
  state.onOutcome({ index: 1, sampleKey: 'k1', status: 'canceled' }, true);
  assert.equal(state.counts.canceled, 1);
});

test('a refused start that could not be adopted is planned again, counted per index across continue-as-new', () => {
  const base = input(3, 3);
  const state = new JobState(base);
  fill(state);
  state.refused(1);
  assert.equal(state.counts.running, 2);
  assert.equal(state.refusalsOf(1), 1);
  assert.deepEqual(state.takeForPrepare(5), [1], 'the refused index is prepared again: MongoDB decides');
  state.prepared(prep([1]));
  state.takeToLaunch();
  state.refused(1);
  const next = new JobState(state.toInput(base));
  assert.equal(next.refusalsOf(1), 2, 'refusals survive continue-as-new');
  assert.equal(next.refusalsOf(0), 0);
  next.prepared(prep(next.takeForPrepare(5)));
  next.takeToLaunch();
  next.complete(1, 'succeeded');
  assert.equal(next.refusalsOf(1), 0, 'an ended index forgets its refusals');
});

test('a failed prepare call gives its indexes back', () => {
  const state = new JobState(input(3, 3));
  const indexes = state.takeForPrepare(10);
  state.unprepared(indexes);
  assert.equal(state.finished(), false);
  assert.deepEqual(state.takeForPrepare(10).sort(), [0, 1, 2]);
});

test('paused jobs launch nothing; finishing needs every index ended', () => {
  const state = new JobState(input(2, 2));
  state.prepared(prep(state.takeForPrepare(10)));
  state.paused = true;
  assert.equal(state.canLaunch(), false);
  assert.deepEqual(state.takeToLaunch(), []);
  state.paused = false;
  assert.equal(state.takeToLaunch().length, 2);
  assert.equal(state.finished(), false);
  state.complete(0, 'succeeded');
  state.complete(1, 'failed');
  assert.equal(state.finished(), true);
});

test('cancelPending counts every sample never started as canceled', () => {
  const state = new JobState(input(10, 2));
  fill(state);
  state.complete(0, 'succeeded');
  state.complete(1, 'canceled');
  state.cancelPending();
  assert.equal(state.counts.canceled, 9);
  assert.equal(state.finished(), true);
});
