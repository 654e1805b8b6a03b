import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/cli';
import { ConfigError } from '../../../src/config/errors';
import { UsageError } from '../../../src/cli/errors';
import { backoffDelay } from '../../../src/worker/fleet';
import { fleetFromPairs, fleetMembers, loadFleetConfig, parseFleetConfig } from '../../../src/worker/fleet-config';
import { formatIdentity, parseIdentity } from '../../../src/worker/identity';
import { parseQueueRates, planWorker, queueRatesOf } from '../../../src/worker/launch';
import { fleetQueues } from '../../../src/worker/pollers';

test('the example fleet config parses into named workers with ports and command lines', async () => {
  const config = await loadFleetConfig(join(repoRoot(), 'configs', 'workers.yaml'));
  const members = fleetMembers(config);
  assert.deepEqual(members.map((m) => m.name), ['orchestrator-1', 'scoring-1', 'scoring-2', 'inference-1', 'inference-2', 'inference-gpu-a100-1', 'rate-limited-1']);
  assert.deepEqual(members.map((m) => m.metricsPort), [5001, 5002, 5003, 5004, 5005, 5006, 5007]);
  const gpu = members.find((m) => m.name === 'inference-gpu-a100-1');
  assert.deepEqual(gpu?.args, ['worker', 'inference', '--name', 'inference-gpu-a100-1', '--gpus', '0,1,2,3', '--gpu-type', 'a100', '--slots-per-gpu', '1', '--metrics-port', '5006']);
  assert.ok(members.find((m) => m.name === 'rate-limited-1')?.args.join(' ').includes('--queue-rate gpt-4o-mini=5'));
  assert.deepEqual(fleetQueues(config).sort(), ['evalctl-inference.gpu-a100', 'evalctl-inference.model-gpt-4o-mini']);
  assert.ok(config.logDir.endsWith(join('logs', 'workers')));
});

test('fleet config errors name the file, line and path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evalctl-fleet-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'workers:\n  - type: inference\n    gpus: [0, 1]\n    count: 2\n  - type: scoring\n    colour: blue\n');
  const err = await loadFleetConfig(file).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  const text = err.message;
  assert.match(text, /bad\.yaml:\d+:\d+ workers\[0\]\.gpuType: gpus and gpuType go together/);
  assert.match(text, /workers\[0\]\.count: workers with gpus would share them/);
  assert.match(text, /bad\.yaml:6:5 workers\[1\]\.colour: unknown key/);
  assert.throws(() => parseFleetConfig({ workers: [{ type: 'painter' }] }), /workers\[0\]\.type: expected one of orchestrator, inference, scoring, all/);
  assert.throws(() => parseFleetConfig({ workers: [] }), /must have at least 1 item/);
});

test('--start pairs make a fleet; bad pairs are config errors', () => {
  const config = fleetFromPairs(['inference', '2', 'scoring', '1'], { basePort: 6000, logDir: '/tmp/x' });
  const members = fleetMembers(config);
  assert.deepEqual(members.map((m) => `${m.name}:${m.metricsPort}`), ['inference-1:6000', 'inference-2:6001', 'scoring-1:6002']);
  assert.equal(config.logDir, '/tmp/x');
  assert.throws(() => fleetFromPairs(['inference']), ConfigError);
  assert.throws(() => fleetFromPairs(['inference', 'two']), /count of inference must be a whole number, got "two"/);
  assert.throws(() => fleetMembers(parseFleetConfig({ workers: [{ type: 'scoring' }, { type: 'scoring' }] })), /two workers are named scoring-1/);
});

test('restart backoff doubles from the initial delay up to the cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 1000, 30_000)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
});

test('worker identities parse back, whatever the host name', () => {
  const id = { type: 'inference', host: 'gpu-host.example.com', pid: 4121, slots: 4, gpuType: 'a100', name: 'inference-gpu-a100-1' };
  assert.deepEqual(parseIdentity(formatIdentity(id)), id);
  assert.deepEqual(parseIdentity(formatIdentity({ type: 'scoring', host: 'we:ird;host name', pid: 1, slots: 64 })), { type: 'scoring', host: 'we-ird-host-name', pid: 1, slots: 64 });
  assert.equal(parseIdentity('12345@some-java-worker'), undefined);
});

test('worker flags: GPU workers poll their tag only, rates become queue limits, bad combinations are usage errors', () => {
  const gpu = planWorker('inference', { gpus: '0,1', gpuType: 'fake', metricsPort: '0' });
  assert.equal(gpu.slots, 2);
  assert.equal(gpu.sharedInference, false);
  assert.deepEqual(gpu.extraQueues, ['evalctl-inference.gpu-fake']);
  assert.equal(gpu.identity.gpuType, 'fake');
  assert.equal(planWorker('inference', { gpus: '0,1', gpuType: 'fake', slotsPerGpu: '2', cpuSlots: '3' }).slots, 7);
  assert.equal(planWorker('inference', { gpus: '0', gpuType: 'fake', cpuSlots: '1' }).sharedInference, true);
  assert.deepEqual(queueRatesOf(parseQueueRates(['m1=5', 'm.2=0.5'])), { 'evalctl-inference.model-m1': 5, 'evalctl-inference.model-m.2': 0.5 });
  assert.deepEqual(planWorker('inference', { models: ['a', 'b'], queueRate: ['a=2'] }).follow, { kind: 'some', ids: ['b'] });
  assert.deepEqual(planWorker('all', {}).follow, { kind: 'all', gpuType: undefined }, 'an all-in-one worker picks up every rate-limited model');
  assert.deepEqual(planWorker('inference', { modelQueues: false }).follow, { kind: 'none' });
  assert.deepEqual(planWorker('inference', { queueRate: ['a=2'] }).follow, { kind: 'none' }, 'explicit limits: a dedicated deployment');
  assert.deepEqual(planWorker('inference', { gpus: '0', gpuType: 'fake' }).follow, { kind: 'none' }, 'a GPU-only worker');
  assert.deepEqual(planWorker('scoring', {}).follow, { kind: 'none' });
  for (const bad of [{ gpus: '0' }, { gpuType: 'x' }, { gpus: '0', gpuType: 'x', slots: '4' }, { queueRate: ['m=fast'] }, { slotsPerGpu: '0', gpus: '0', gpuType: 'x' }]) {
    assert.throws(() => planWorker('inference', bad), UsageError, JSON.stringify(bad));
  }
  assert.throws(() => planWorker('scoring', { gpus: '0', gpuType: 'x' }), /for inference workers/);
});
