import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SHARD_SIZE, shardPlan } from '../../../workflows/shard';

test('shards never put more calls in flight than the window allows', () => {
  for (const window of [1, 2, 3, 16, 31, 50, 64, 100, 256, 1000]) {
    const plan = shardPlan(window, 100_000);
    assert.ok(plan.shards * plan.calls <= window, `window ${window}: ${plan.shards} x ${plan.calls}`);
    assert.ok(plan.calls >= 1 && plan.calls <= 32, `window ${window}: ${plan.calls} calls per shard`);
  }
});

test('two shards overlap whenever the window allows, so one shard\'s tail never idles the model', () => {
  assert.equal(shardPlan(64, 100_000).shards, 2);
  assert.equal(shardPlan(16, 100_000).shards, 2);
  assert.equal(shardPlan(256, 100_000).shards, 8);
  assert.equal(shardPlan(1, 100_000).shards, 1);
});

test('shard size is capped for history and split evenly for small jobs', () => {
  assert.equal(shardPlan(64, 100_000).size, SHARD_SIZE);
  assert.equal(shardPlan(16, 60).size, 30);
  assert.equal(shardPlan(64, 1).size, 1);
});

test('shard runners split the whole job evenly, so every shard runs from start to end and all are covered', () => {
  for (const [window, total] of [[64, 100_000], [256, 10_000], [16, 7], [1, 5], [64, 1]] as const) {
    const plan = shardPlan(window, total, true);
    assert.ok(plan.shards * plan.calls <= window, `window ${window}: ${plan.shards} x ${plan.calls}`);
    assert.ok(plan.shards * plan.size >= total, `${plan.shards} shards of ${plan.size} cover ${total}`);
    assert.ok((plan.shards - 1) * plan.size < total || total < plan.shards, 'no shard is started empty when the job has samples for each');
  }
  assert.equal(shardPlan(64, 100_000, true).size, 50_000, 'no history cap: a runner keeps no per-sample history');
});
