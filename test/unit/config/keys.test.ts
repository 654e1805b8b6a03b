import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inferenceKey, sampleKey } from '../../../src/config/keys';
import { canonicalJson } from '../../../src/config/canonical';
import { ModelConfigSchema, ScorerConfigSchema, TaskConfigSchema } from '../../../src/config/schema';
import type { ModelConfig, TaskConfig } from '../../../src/config/schema';
import { mulberry32 } from '../../../src/datasets/random';

const model = (over: Record<string, unknown> = {}, provider: Record<string, unknown> = {}): ModelConfig =>
  ModelConfigSchema.parse({
    id: 'gpt',
    provider: { kind: 'openai', model: 'gpt-x', apiKey: '${OPENAI_API_KEY}', ...provider },
    params: { temperature: 0, maxTokens: 32 },
    ...over,
  });
const task = (over: Record<string, unknown> = {}): TaskConfig =>
  TaskConfigSchema.parse({ id: 't', dataset: { samples: [] }, prompt: 'Q: {{q}}', ...over });
const sample = { fields: { q: 'What is 2+2?', meta: { a: 1, b: [1, 2] } }, target: '4' };

/** Recursively rebuilds an object with its keys in a random order. */
function shuffleKeys<T>(value: T, rand: () => number): T {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand)) as T;
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort(() => rand() - 0.5);
  return Object.fromEntries(keys.map((k) => [k, shuffleKeys((value as Record<string, unknown>)[k], rand)])) as T;
}

describe('inference and sample keys', () => {
  const base = inferenceKey(model(), task(), sample);

  it('is a sha256 hex', () => assert.match(base, /^[0-9a-f]{64}$/));

  it('ignores key order everywhere (50 random reorderings)', () => {
    const rand = mulberry32(42);
    for (let i = 0; i < 50; i++) {
      assert.equal(inferenceKey(shuffleKeys(model(), rand), shuffleKeys(task(), rand), shuffleKeys(sample, rand)), base);
    }
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  });

  const changes: Array<[string, () => string]> = [
    ['temperature', () => inferenceKey(model({ params: { temperature: 0.7, maxTokens: 32 } }), task(), sample)],
    ['max tokens', () => inferenceKey(model({ params: { temperature: 0, maxTokens: 33 } }), task(), sample)],
    ['model name', () => inferenceKey(model({}, { model: 'gpt-y' }), task(), sample)],
    ['base URL', () => inferenceKey(model({}, { baseUrl: 'http://localhost:8000/v1' }), task(), sample)],
    ['api', () => inferenceKey(model({}, { api: 'completions' }), task(), sample)],
    ['prompt', () => inferenceKey(model(), task({ prompt: 'Question: {{q}}' }), sample)],
    ['few-shot', () => inferenceKey(model(), task({ fewShot: [{ fields: { q: '1+1' }, target: '2' }] }), sample)],
    ['sample field', () => inferenceKey(model(), task(), { ...sample, fields: { ...sample.fields, q: 'What is 2+3?' } })],
    ['nested sample field', () => inferenceKey(model(), task(), { ...sample, fields: { ...sample.fields, meta: { a: 1, b: [2, 1] } } })],
    ['target', () => inferenceKey(model(), task(), { ...sample, target: '5' })],
  ];
  for (const [what, key] of changes) {
    it(`changes with the ${what}`, () => assert.notEqual(key(), base));
  }

  const sameMeaning: Array<[string, () => string]> = [
    ['API key reference', () => inferenceKey(model({}, { apiKey: '${OTHER_KEY}' }), task(), sample)],
    ['headers', () => inferenceKey(model({}, { headers: { 'X-Org': 'abc' } }), task(), sample)],
    ['model id', () => inferenceKey(model({ id: 'renamed' }), task(), sample)],
    ['concurrency', () => inferenceKey(model({ concurrency: 99 }), task(), sample)],
    ['rate limit', () => inferenceKey(model({ rateLimit: { requestsPerSecond: 3 } }), task(), sample)],
    ['timeout', () => inferenceKey(model({ timeoutMs: 5 }), task(), sample)],
    ['pricing', () => inferenceKey(model({ pricing: { inputPer1k: 9, outputPer1k: 9 } }), task(), sample)],
    ['resources', () => inferenceKey(model({ resources: { gpus: 2, gpuType: 'a100' } }), task(), sample)],
    ['task id and scorer', () => inferenceKey(model(), task({ id: 'other', scorer: { kind: 'f1' } }), sample)],
    ['trailing slash of the base URL', () => inferenceKey(model({}, { baseUrl: 'https://api.openai.com/v1/' }), task(), sample)],
  ];
  for (const [what, key] of sameMeaning) {
    it(`does not change with the ${what}`, () => assert.equal(key(), base));
  }

  it('sample key: changes with the scorer config, not with its key order', () => {
    const exact = ScorerConfigSchema.parse({ kind: 'exact' });
    const exactCase = ScorerConfigSchema.parse({ kind: 'exact', caseSensitive: true });
    assert.equal(sampleKey(base, exact), sampleKey(base, shuffleKeys(exact, mulberry32(1))));
    assert.notEqual(sampleKey(base, exact), sampleKey(base, exactCase));
    assert.notEqual(sampleKey(base, exact), sampleKey(inferenceKey(model(), task(), { ...sample, target: '5' }), exact));
  });

  it('command models: argv, env and cwd are identity; what a ${NAME} reference holds is not', () => {
    const cmd = (env: Record<string, string>, command = ['python', 'run.py'], extra: Record<string, unknown> = {}) =>
      inferenceKey(ModelConfigSchema.parse({ id: 'c', provider: { kind: 'command', command, env, ...extra } }), task(), sample);
    assert.equal(cmd({ TOKEN: '${A}' }), cmd({ TOKEN: '${B}' }), 'a renamed secret is the same model');
    assert.notEqual(cmd({}), cmd({}, ['python', 'run2.py']));
    assert.notEqual(cmd({ CKPT: '/models/step-1000' }), cmd({ CKPT: '/models/step-2000' }), 'a new checkpoint behind the same program');
    assert.notEqual(cmd({ CKPT: '${ROOT}/step-1000' }), cmd({ CKPT: '${ROOT}/step-2000' }));
    assert.notEqual(cmd({}), cmd({ CKPT: '/models/step-1000' }));
    assert.notEqual(cmd({}, undefined, { cwd: '/srv/a' }), cmd({}, undefined, { cwd: '/srv/b' }));
    assert.equal(cmd({}), inferenceKey(ModelConfigSchema.parse({ id: 'c', provider: { kind: 'command', command: ['python', 'run.py'] } }), task(), sample), 'no env, no cwd: the key of before');
  });

  it('a model\'s version label is identity: set it when the weights behind the same config change', () => {
    assert.notEqual(inferenceKey(model({ version: '2024-06' }), task(), sample), base);
    assert.notEqual(inferenceKey(model({ version: '2024-06' }), task(), sample), inferenceKey(model({ version: '2024-07' }), task(), sample));
  });
});

describe('epochs in sample keys', () => {
  const simulated = ModelConfigSchema.parse({ id: 'sim', provider: { kind: 'simulated', accuracy: 0.5, seed: 7 } });
  const t = TaskConfigSchema.parse({ id: 't', dataset: { samples: [] }, prompt: 'Q: {{q}}' });
  const content = { fields: { q: '2+2?' }, target: '4' };

  it('epoch 1 keeps the key of a run without epochs (the key recipe before epochs existed)', () => {
    // Golden keys computed by the recipe before epochs: stored results of earlier runs stay reusable.
    const ik = inferenceKey(simulated, t, content);
    assert.equal(ik, 'e45a279924c3c351570723a02d399eb74e899058bb7fc88e18aaa5481b0bb525');
    assert.equal(sampleKey(ik, t.scorer), '599bd24cca5ac366d362fcb8abfe6634f16e3d4185471ef6678a86a78cc544eb');
    assert.equal(inferenceKey(simulated, t, { ...content, epoch: 1 }), ik);
  });

  it('every later epoch is a request of its own', () => {
    const keys = [1, 2, 3, 10].map((epoch) => inferenceKey(simulated, t, { ...content, epoch }));
    assert.equal(new Set(keys).size, 4);
    assert.equal(inferenceKey(simulated, t, { ...content, epoch: 2 }), keys[1], 'stable');
  });
});
