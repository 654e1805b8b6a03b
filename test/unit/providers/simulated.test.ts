import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SimulatedProviderSchema } from '../../../src/config/schema';
import { ErrorTypes } from '../../../src/contracts/errors';
import { mulberry32 } from '../../../src/datasets/random';
import { CALL_LOG_ENV, ProviderError, sampleLatency, SimulatedProvider } from '../../../src/providers';
import type { InferenceRequest } from '../../../src/providers';
import { waitFor } from '../../helpers/wait';

let dir = '';
before(() => (dir = mkdtempSync(path.join(tmpdir(), 'evalctl-sim-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const sim = (over: Record<string, unknown> = {}, random?: () => number) => new SimulatedProvider('sim', SimulatedProviderSchema.parse({ kind: 'simulated', ...over }), random);
const req = (key: string, target: unknown = '42'): InferenceRequest => ({ sampleKey: key, messages: [], prompt: 'What is 6 * 7? '.repeat(4), params: {}, target });
const ctx = (env: NodeJS.ProcessEnv = {}, signal = new AbortController().signal) => ({ signal, env });

describe('simulated provider', () => {
  it('answers right or wrong deterministically per (seed, sample key), near the configured accuracy', async () => {
    const a = sim({ accuracy: 0.7, seed: 5 });
    let right = 0;
    for (let i = 0; i < 1000; i++) {
      const first = await a.infer(req(`k${i}`), ctx());
      const again = await sim({ accuracy: 0.7, seed: 5 }).infer(req(`k${i}`), ctx());
      assert.equal(first.text, again.text);
      if (first.text === '42') right++;
    }
    assert.ok(right > 650 && right < 750, `right answers: ${right}`);
    const other = await Promise.all(Array.from({ length: 50 }, (_, i) => sim({ accuracy: 0.7, seed: 6 }).infer(req(`k${i}`), ctx())));
    const same = await Promise.all(Array.from({ length: 50 }, (_, i) => a.infer(req(`k${i}`), ctx())));
    assert.notDeepEqual(other.map((p) => p.text), same.map((p) => p.text));
  });

  it('wrong answers keep the shape of the target (letters stay letters, numbers stay numbers)', async () => {
    const wrong = sim({ accuracy: 0 });
    assert.match((await wrong.infer(req('a', 'B'), ctx())).text, /^[ACD]$/);
    assert.notEqual(Number((await wrong.infer(req('b', '42'), ctx())).text), 42);
    assert.equal((await sim({ accuracy: 1 }).infer(req('c', ['Paris', 'paris']), ctx())).text, 'Paris');
  });

  it('usage is about length / 4', async () => {
    const p = await sim({ accuracy: 1 }).infer(req('u'), ctx());
    assert.deepEqual(p.usage, { inputTokens: Math.ceil(req('u').prompt.length / 4), outputTokens: 1 });
  });

  it('retryable errors and 429s with Retry-After, drawn per call', async () => {
    await assert.rejects(sim({ errorRate: 1 }).infer(req('e'), ctx()), (e: unknown) => e instanceof ProviderError && e.retryable && e.status === 503);
    await assert.rejects(sim({ rateLimitRate: 1, retryAfterMs: 1234 }).infer(req('e'), ctx()), (e: unknown) => e instanceof ProviderError && e.retryable && e.status === 429 && e.retryAfterMs === 1234);
    // Per-call draws: a transient error can pass on the next attempt.
    const draws = [0.99, 0.01, 0.99, 0.99]; // per call: the 429 draw, then the error draw
    const flaky = sim({ errorRate: 0.5, accuracy: 1 }, () => draws.shift() ?? 0.99);
    await assert.rejects(flaky.infer(req('f'), ctx()));
    assert.equal((await flaky.infer(req('f'), ctx())).text, '42');
  });

  it('permanent errors stick to the same samples', async () => {
    const p = sim({ permanentErrorRate: 0.3 });
    const failing = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await p.infer(req(`p${i}`), ctx()).catch((e: ProviderError) => {
        assert.equal(e.type, ErrorTypes.ProviderPermanent);
        failing.add(`p${i}`);
      });
    }
    assert.ok(failing.size > 40 && failing.size < 80, `failing: ${failing.size}`);
    for (const key of failing) await assert.rejects(p.infer(req(key), ctx()));
  });

  it('latency distributions: fixed, uniform within bounds, normal clipped, lognormal positive; seeded', () => {
    const rand = mulberry32(1);
    assert.equal(sampleLatency(25, rand), 25);
    for (let i = 0; i < 200; i++) {
      const u = sampleLatency({ distribution: 'uniform', min: 10, max: 20 }, rand);
      assert.ok(u >= 10 && u <= 20);
      assert.ok(sampleLatency({ distribution: 'normal', mean: 1, stddev: 50 }, rand) >= 0);
      assert.ok(sampleLatency({ distribution: 'lognormal', median: 10, sigma: 1 }, rand) > 0);
    }
    assert.equal(sampleLatency({ distribution: 'uniform', min: 0, max: 100 }, mulberry32(9)), sampleLatency({ distribution: 'uniform', min: 0, max: 100 }, mulberry32(9)));
  });

  it('an abort during the latency rejects as canceled; the call log records start, end and abort', async () => {
    const log = path.join(dir, 'calls.jsonl');
    const env = { [CALL_LOG_ENV]: log };
    await sim({ accuracy: 1 }).infer(req('done'), ctx(env));
    const controller = new AbortController();
    const call = sim({ latencyMs: 60_000 }).infer(req('slow'), ctx(env, controller.signal));
    await waitFor(() => readFileSync(log, 'utf8').includes('"sampleKey":"slow"'), { message: 'call started' });
    controller.abort();
    await assert.rejects(call, (e: unknown) => e instanceof ProviderError && e.type === ErrorTypes.Canceled);
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(entries.map((e) => [e.event, e.sampleKey, e.model]), [['start', 'done', 'sim'], ['end', 'done', 'sim'], ['start', 'slow', 'sim'], ['abort', 'slow', 'sim']]);
    for (const e of entries) assert.ok(typeof e.t === 'number' && e.pid === process.pid);
  });
});
