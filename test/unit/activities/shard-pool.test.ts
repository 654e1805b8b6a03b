import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobPools, type PoolMember } from '../../../activities/shard-pool';

/** A runner with `waiting` prepared samples; each started sample runs until `finish` is called for it. */
class FakeRunner implements PoolMember {
  running = 0;
  started = 0;
  private readonly ends: Array<() => void> = [];
  constructor(public waiting: number) {}
  hasWaiting(): boolean {
    return this.waiting > 0;
  }
  runOnPlace(): Promise<void> {
    this.waiting -= 1;
    this.running += 1;
    this.started += 1;
    return new Promise((resolve) => this.ends.push(() => {
      this.running -= 1;
      resolve();
    }));
  }
  finishOne(): void {
    this.ends.shift()?.();
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a place lent by a runner whose range has all started runs the waiting samples of the job\'s other runners', async () => {
  const pools = new JobPools();
  const done = new FakeRunner(0);
  const busy = new FakeRunner(5);
  pools.join('a/j', done);
  pools.join('a/j', busy);
  pools.lend('a/j', done, 2);
  assert.equal(busy.running, 2, 'two lent places, two samples started');
  busy.finishOne();
  await settle();
  assert.equal(busy.running, 2, 'the freed place starts the next waiting sample');
  assert.equal(busy.started, 3);
  assert.equal(done.started, 0, 'the lender itself has nothing waiting');
});

test('places of another job, or of a runner that ended without completing, are not used', async () => {
  const pools = new JobPools();
  const lender = new FakeRunner(0);
  const other = new FakeRunner(3);
  const sameJob = new FakeRunner(3);
  pools.join('a/j1', lender);
  pools.join('a/j2', other);
  pools.join('a/j1', sameJob);
  pools.lend('a/j1', lender, 1);
  assert.equal(other.running, 0, 'another job never gets the places');
  assert.equal(sameJob.running, 1);
  // The lender's attempt fails: its retry brings its own places, so the lent one is taken back.
  pools.leave('a/j1', lender, false);
  sameJob.finishOne();
  await settle();
  assert.equal(sameJob.running, 0, 'the place taken back starts nothing more');
});

test('a completed runner leaves its places, and a new page of waiting samples is started on them', async () => {
  const pools = new JobPools();
  const lender = new FakeRunner(0);
  const busy = new FakeRunner(0);
  pools.join('a/j', lender);
  pools.join('a/j', busy);
  pools.lend('a/j', lender, 3);
  pools.leave('a/j', lender, true);
  assert.equal(busy.running, 0, 'nothing waits yet');
  busy.waiting = 2;
  pools.poke('a/j');
  assert.equal(busy.running, 2, 'a page prepared later runs on the places the completed runner left');
  pools.leave('a/j', busy, true);
  assert.equal(pools.jobs, 0, 'the pool goes with the job\'s last runner');
});
