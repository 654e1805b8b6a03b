import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../../src/datasets/random';
import { DeviceManager, DeviceRequestError, LeaseAbortedError, type DeviceManagerOptions, type SlotLease } from '../../../src/worker/devices';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Pending {
  id: number;
  need: number;
  ctrl: AbortController;
  aborted: boolean;
  settled?: 'granted' | 'rejected';
}

interface Held {
  id: number;
  need: number;
  lease: SlotLease;
  ctrl: AbortController;
}

/** A random walk over one manager, checking the invariants after every step. */
async function walk(options: DeviceManagerOptions, seed: number, steps: number): Promise<{ grants: number; aborts: number }> {
  const rand = mulberry32(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  const dm = new DeviceManager(options);
  const pending = new Map<number, Pending>();
  const held = new Map<number, Held>();
  let nextId = 0;
  let grants = 0;
  let aborts = 0;
  const acquire = (): void => {
    const id = nextId++;
    const need = rand() < 0.5 ? 0 : 1 + Math.floor(rand() * options.gpus.length);
    const p: Pending = { id, need, ctrl: new AbortController(), aborted: false };
    pending.set(id, p);
    dm.acquire(need, p.ctrl.signal).then(
      (lease) => {
        assert.ok(!p.aborted, `waiter ${id} was granted after its wait was aborted`);
        p.settled = 'granted';
        pending.delete(id);
        held.set(id, { id, need, lease, ctrl: p.ctrl });
        grants++;
      },
      (err: unknown) => {
        assert.ok(err instanceof LeaseAbortedError && p.aborted, `waiter ${id} rejected without an abort: ${String(err)}`);
        p.settled = 'rejected';
        pending.delete(id);
      },
    );
  };
  for (let step = 0; step < steps; step++) {
    const r = rand();
    if (r < 0.4 || (held.size === 0 && pending.size === 0)) acquire();
    else if (r < 0.6 && held.size > 0) {
      const h = pick([...held.values()]);
      held.delete(h.id);
      h.lease.release();
    } else if (r < 0.75 && held.size > 0) {
      // A crashed subprocess: the provider throws, infer's finally releases, and a stray second release follows.
      const h = pick([...held.values()]);
      held.delete(h.id);
      try {
        throw new Error('subprocess killed by SIGKILL');
      } catch {
        h.lease.release();
      } finally {
        h.lease.release();
      }
    } else if (r < 0.9 && pending.size > 0) {
      const p = pick([...pending.values()]);
      p.aborted = true;
      aborts++;
      p.ctrl.abort();
    } else if (held.size > 0) {
      // Cancel arriving after the grant: the lease stays held until released.
      pick([...held.values()]).ctrl.abort();
    } else acquire();
    await flush();
    check(options, dm, [...held.values()], [...pending.values()]);
  }
  for (const p of pending.values()) {
    p.aborted = true;
    p.ctrl.abort();
  }
  for (const h of held.values()) h.lease.release();
  held.clear();
  await flush();
  assert.equal(pending.size, 0, 'every waiter settled');
  const end = dm.usage();
  assert.deepEqual(end, { gpuSlotsBusy: 0, gpuSlotsTotal: options.gpus.length * options.slotsPerGpu, cpuSlotsBusy: 0, cpuSlotsTotal: options.cpuSlots, waiting: 0 });
  return { grants, aborts };
}

function check(options: DeviceManagerOptions, dm: DeviceManager, held: Held[], pending: Pending[]): void {
  const owner = new Map<string, number>();
  const perGpu = new Map<string, number>();
  let cpuHeld = 0;
  for (const h of held) {
    for (const slot of h.lease.slots) {
      assert.ok(!owner.has(slot), `slot ${slot} held by ${owner.get(slot)} and ${h.id}`);
      owner.set(slot, h.id);
    }
    assert.equal(new Set(h.lease.gpus).size, h.lease.gpus.length, 'GPUs of one lease are distinct');
    assert.equal(h.lease.gpus.length, h.need, 'a call gets as many GPUs as it needs');
    for (const g of h.lease.gpus) perGpu.set(g, (perGpu.get(g) ?? 0) + 1);
    if (h.need === 0 && options.cpuSlots > 0) cpuHeld++;
    assert.equal(h.lease.env.CUDA_VISIBLE_DEVICES, h.lease.gpus.join(','));
  }
  for (const [g, n] of perGpu) assert.ok(n <= options.slotsPerGpu, `GPU ${g} has ${n} holders`);
  const usage = dm.usage();
  const gpuHeld = [...perGpu.values()].reduce((a, b) => a + b, 0);
  assert.equal(usage.gpuSlotsBusy, gpuHeld, 'no GPU slot lost or invented');
  assert.equal(usage.cpuSlotsBusy, cpuHeld, 'no CPU slot lost or invented');
  assert.equal(usage.waiting, pending.length);
  // Liveness: the first waiter of each kind is waiting only because its request cannot be met now.
  const freeGpus = options.gpus.filter((g) => (perGpu.get(g) ?? 0) < options.slotsPerGpu).length;
  const firstGpu = pending.filter((p) => p.need > 0).sort((a, b) => a.id - b.id)[0];
  if (firstGpu) assert.ok(firstGpu.need > freeGpus, `waiter ${firstGpu.id} needs ${firstGpu.need} GPUs and ${freeGpus} are free`);
  const firstCpu = pending.filter((p) => p.need === 0).sort((a, b) => a.id - b.id)[0];
  if (firstCpu) assert.ok(options.cpuSlots > 0 && cpuHeld >= options.cpuSlots, `CPU waiter ${firstCpu.id} waits with free CPU slots`);
}

test('random lease/release/crash/abort sequences never share a slot, lose one, or strand a waiter', async () => {
  const shapes: DeviceManagerOptions[] = [
    { gpus: ['0', '1'], slotsPerGpu: 1, cpuSlots: 0 },
    { gpus: ['0', '1', '2', '3'], slotsPerGpu: 1, cpuSlots: 2 },
    { gpus: ['0', '1', '2'], slotsPerGpu: 2, cpuSlots: 1 },
    { gpus: ['GPU-a', 'GPU-b', 'GPU-c', 'GPU-d', 'GPU-e'], slotsPerGpu: 3, cpuSlots: 4 },
  ];
  let grants = 0;
  let aborts = 0;
  for (const [i, shape] of shapes.entries()) {
    for (const seed of [1, 2, 3]) {
      const r = await walk(shape, seed * 1000 + i, 2500);
      grants += r.grants;
      aborts += r.aborts;
    }
  }
  assert.ok(grants > 5000, `the walk exercised grants (${grants})`);
  assert.ok(aborts > 500, `the walk exercised aborted waits (${aborts})`);
});

test('waiters are served first come, first served: a 2-GPU call is not starved by 1-GPU calls', async () => {
  const dm = new DeviceManager({ gpus: ['0', '1'], slotsPerGpu: 1, cpuSlots: 0 });
  const a = await dm.acquire(1);
  const order: string[] = [];
  const big = dm.acquire(2).then((l) => (order.push('big'), l));
  const small = dm.acquire(1).then((l) => (order.push('small'), l));
  await flush();
  assert.deepEqual(order, [], 'the 1-GPU call behind the 2-GPU call waits although GPU 1 is free');
  a.release();
  const bigLease = await big;
  assert.deepEqual(bigLease.gpus, ['0', '1']);
  assert.equal(bigLease.env.CUDA_VISIBLE_DEVICES, '0,1');
  bigLease.release();
  (await small).release();
  assert.deepEqual(order, ['big', 'small']);
});

test('impossible requests fail at once; CPU calls on a GPU worker see no GPU', async () => {
  const dm = new DeviceManager({ gpus: ['0', '1'], slotsPerGpu: 1, cpuSlots: 1 });
  await assert.rejects(dm.acquire(3), DeviceRequestError);
  const cpu = await dm.acquire(0);
  assert.deepEqual(cpu.slots, ['cpu#0']);
  assert.equal(cpu.env.CUDA_VISIBLE_DEVICES, '');
  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(dm.acquire(1, ctrl.signal), LeaseAbortedError);
  cpu.release();
  assert.equal(dm.usage().cpuSlotsBusy, 0);
  const plain = new DeviceManager({ gpus: [], slotsPerGpu: 1, cpuSlots: 0 });
  assert.deepEqual((await plain.acquire(0)).env, {}, 'a worker without devices sets no environment');
});
