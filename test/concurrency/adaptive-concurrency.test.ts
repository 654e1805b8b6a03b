import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { runCli, startAssignment } from '../helpers/cli';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/openai-server';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';

/**
 * Adaptive concurrency shared across machines: two worker processes call one OpenAI-compatible endpoint
 * that answers 429 with Retry-After once more than 2 requests are in flight (as LiteLLM's
 * max_parallel_requests does). The shared limit starts at its ceiling of 6, backs off on the 429s, grows
 * back on successes, and the endpoint never sees more requests in flight than the limit allowed.
 */

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-adaptive-'));
let store: Store | undefined;
let endpoint: FakeOpenAI | undefined;
const workers: WorkerProcess[] = [];

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await store?.close();
  await endpoint?.close();
});

/** The shared limit as MongoDB holds it, sampled every few milliseconds while the run goes on. */
interface Sample {
  t: number;
  limit: number;
}

function sampleLimits(s: Store, name: string, out: Sample[]): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const doc = await s.endpoints.findOne({ _id: name }, { projection: { limit: 1 } });
      if (doc) out.push({ t: Date.now(), limit: doc.limit });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

test('two workers share one endpoint limit: it backs off on 429s, honours Retry-After, grows back, and holds', async () => {
  const stack = getStack();
  endpoint = await startFakeOpenAI({ latencyMs: 300, maxInFlight: { limit: 2, retryAfter: '2' } });
  const env = stackEnv(stack);
  store = await openStore(stack.mongoUrl);
  workers.push(...(await Promise.all([startWorkerProcess(env, 'all'), startWorkerProcess(env, 'inference')])));
  const name = `fixture-${Date.now()}`;
  const samples = Array.from({ length: 30 }, (_, i) => ({ id: `s${i}`, question: `adaptive ${name}: repeat ${i}`, target: String(i) }));
  const dataset = join(dir, 'adaptive.jsonl');
  writeFileSync(dataset, samples.map((s) => JSON.stringify(s)).join('\n'));
  const config = join(dir, 'adaptive.yaml');
  writeFileSync(config, stringify({
    name: 'adaptive', output: false,
    models: [{
      id: 'fixture', provider: { kind: 'openai', baseUrl: endpoint.baseUrl, model: 'fake' }, concurrency: 12, timeoutMs: 10_000,
      adaptiveConcurrency: { floor: 1, ceiling: 6, step: 1, decrease: 0.5, endpoint: name },
    }],
    tasks: [{ id: 'repeat', dataset: { path: dataset }, prompt: '{{question}}', scorer: { kind: 'exact' } }],
    retry: { maxAttempts: 20, initialIntervalMs: 200, backoffCoefficient: 1, maxIntervalMs: 1000 },
  }));
  const limits: Sample[] = [];
  const stopSampling = sampleLimits(store, name, limits);
  const id = await startAssignment(env, config);
  const watched = await runCli(['watch', id], { env, timeoutMs: 120_000 });
  const status = await runCli(['status', id], { env });
  await stopSampling();
  assert.equal(watched.code, 0, `${watched.stderr}\n${status.stdout}`);

  const records = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(records.filter((r) => r.status === 'succeeded').length, 30);
  const results = await store.results.find({ _id: { $in: records.map((r) => r.sampleKey) } }, { projection: { worker: 1 } }).toArray();
  assert.equal(new Set(results.map((r) => r.worker)).size, 2, 'both worker processes called the endpoint');

  const seen = endpoint.seen;
  const rejected = seen.filter((r) => r.status === 429);
  assert.ok(rejected.length > 0, 'the endpoint pushed back');
  assert.ok(endpoint.peakInFlight() <= 6, `peak ${endpoint.peakInFlight()} in flight, above the ceiling`);
  // Every request reached the endpoint with no more in flight than the shared limit allowed: the limit at
  // the time (or just before: calls started under a higher limit may still be running when it is cut).
  for (const r of seen) {
    const near = limits.filter((l) => l.t >= r.t - 1_500 && l.t <= r.t + 100).map((l) => l.limit);
    const allowed = near.length > 0 ? Math.max(...near) : 6;
    assert.ok(r.inFlight <= allowed, `${r.inFlight} in flight at ${r.t} with the shared limit at most ${allowed}`);
  }
  const doc = await store.endpoints.findOne({ _id: name });
  assert.ok(doc && doc.decreases >= 1 && doc.increases >= 1, JSON.stringify(doc));
  const lowest = Math.min(...limits.map((l) => l.limit));
  assert.ok(lowest <= 2, `the limit backed off from 6 to ${lowest}`);
  const afterLowest = limits.slice(limits.findIndex((l) => l.limit === lowest));
  assert.ok(afterLowest.some((l) => l.limit > lowest), 'and grew back');
  assert.equal(await store.endpointLeases.countDocuments({ endpoint: name, place: { $gte: 0 } }), 0, 'every lease was given back');
  // Retry-After: 2 holds every call of both workers for two seconds after the first 429. The first second is
  // left out: a call granted just before the hold may reach the endpoint late on a loaded machine.
  const first = rejected[0].t;
  const during = seen.filter((r) => r.t > first + 1_000 && r.t < first + 1_850);
  assert.deepEqual(during.map((r) => r.t - first), [], 'no request during the Retry-After');
  assert.match(status.stdout, new RegExp(`endpoint ${name}: concurrency limit \\d+ \\(floor 1, ceiling 6\\), 0 in flight, \\d+ cuts, \\d+ raises`));
});
