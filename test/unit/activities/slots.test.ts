import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../../activities/slots';

test('slots: never more taken than the size; waiters get places as they are released', async () => {
  const slots = new Slots(2);
  const never = new AbortController().signal;
  let peak = 0;
  let running = 0;
  const work = async (): Promise<void> => {
    const release = await slots.take(never);
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running -= 1;
    release();
    release();
  };
  await Promise.all(Array.from({ length: 10 }, work));
  assert.equal(peak, 2);
  assert.equal(slots.taken, 0, 'releasing twice frees one place only');
});

test('slots: an aborted waiter leaves, and the others still get the place', async () => {
  const slots = new Slots(1);
  const never = new AbortController().signal;
  const hold = await slots.take(never);
  const abort = new AbortController();
  const aborted = slots.take(abort.signal);
  const patient = slots.take(never);
  abort.abort();
  await assert.rejects(aborted, /aborted while waiting/);
  hold();
  const release = await patient;
  assert.equal(slots.taken, 1);
  release();
  assert.equal(slots.taken, 0);
});
