/**
 * evalctl against a real OpenAI-compatible server: llama.cpp's own server (PyPI's xllamacpp, CPU) serving
 * Gemma 3 270M, installed once into ~/.cache/evalctl/real-model. Runs with `npm run test:real`; a short case of
 * it is part of `npm test` (test/e2e/real-model.test.ts).
 *
 * The model is small and pretrained, not instruction-tuned: its answers are poor, so nothing here depends
 * on what it says, only on how evalctl handles what the server returns.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorTypes } from '../../src/contracts/errors';
import type { ResultDoc } from '../../src/store/documents';
import { openStore, type Store } from '../../src/store/store';
import { overlongQuestion, runRealAssignment, serverErrors, useRealModelServer, writeRealModelConfig, type RealSample } from '../helpers/real-model';
import { useTestStack } from '../helpers/stack';

const getStack = useTestStack();
const getServer = useRealModelServer({ ctxSize: 512 });
const dir = mkdtempSync(join(tmpdir(), 'evalctl-real-'));
let store: Store | undefined;
after(async () => {
  await store?.close();
});

const MAX_TOKENS = 16;
const STOP = '\n';
const SAMPLES: RealSample[] = [
  { id: 'france', question: 'The capital of France is', target: 'Paris' },
  { id: 'count', question: '1, 2, 3, 4, 5,', target: '6' },
  { id: 'sky', question: 'Why is the sky blue?', target: 'light' },
  { id: 'days', question: 'List the days of the week: Monday, Tuesday,', target: 'Wednesday' },
  { id: 'overlong', question: overlongQuestion(512), target: 'lorem' },
];

/** Results of one model by dataset id. */
function bySample(results: ResultDoc[], modelId: string): Map<string, ResultDoc> {
  return new Map(results.filter((r) => r.modelId === modelId).map((r) => [r.sampleId, r]));
}

test('chat, stop sequences, max tokens, usage, latency and a context-length error against llama.cpp', async () => {
  const server = getServer();
  store ??= await openStore(getStack().mongoUrl);
  const config = writeRealModelConfig(dir, 'real', server, [
    { id: 'stopped', params: { temperature: 0, maxTokens: MAX_TOKENS, stop: [STOP] } },
    { id: 'unstopped', params: { temperature: 0, maxTokens: MAX_TOKENS } },
  ], SAMPLES);
  const run = await runRealAssignment(getStack(), store, config);
  process.stderr.write(`real model: ${run.results.length} results in ${(run.ms / 1000).toFixed(1)}s\n`);
  assert.equal(run.status, 'completed');
  assert.equal(run.results.length, SAMPLES.length * 2);
  const stopped = bySample(run.results, 'stopped');
  const unstopped = bySample(run.results, 'unstopped');

  let stopsApplied = 0;
  for (const s of SAMPLES.filter((x) => x.id !== 'overlong')) {
    const a = stopped.get(s.id)!;
    const b = unstopped.get(s.id)!;
    for (const r of [a, b]) {
      assert.equal(r.status, 'succeeded', `${r.modelId}/${s.id}: ${r.error}`);
      assert.equal(typeof r.prediction, 'string');
      assert.equal(typeof r.score?.value, 'number', `${r.modelId}/${s.id} was scored`);
      assert.ok(r.usage && r.usage.inputTokens > 0, `${r.modelId}/${s.id} prompt tokens recorded`);
      assert.ok(r.usage.outputTokens >= 1 && r.usage.outputTokens <= MAX_TOKENS, `${r.modelId}/${s.id} completion tokens ${r.usage.outputTokens} within maxTokens`);
      assert.ok(typeof r.latencyMs === 'number' && r.latencyMs > 0, `${r.modelId}/${s.id} latency recorded`);
      assert.ok(r.latencyMs <= r.finishedAt.getTime() - r.startedAt!.getTime() + 50, `${r.modelId}/${s.id} latency within the attempt`);
    }
    assert.equal(a.usage!.inputTokens, b.usage!.inputTokens, `${s.id}: the same prompt counts the same tokens`);
    // Greedy decoding with the prompt cache off: the stopped answer is the unstopped one cut before the stop.
    const cut = b.prediction!.indexOf(STOP);
    if (cut === -1) {
      assert.equal(a.prediction, b.prediction, `${s.id}: no stop sequence generated, same answer`);
      continue;
    }
    stopsApplied += 1;
    assert.equal(a.prediction, b.prediction!.slice(0, cut), `${s.id}: the stop sequence ends the answer`);
    // llama.cpp counts the stop sequence's own token; text generated after it costs tokens.
    const more = b.prediction!.length > cut + STOP.length;
    assert.ok(more ? a.usage!.outputTokens < b.usage!.outputTokens : a.usage!.outputTokens <= b.usage!.outputTokens, `${s.id}: fewer tokens generated with the stop`);
  }
  assert.ok(stopsApplied >= 2, `the stop sequence was generated (and applied) in ${stopsApplied} samples`);
  assert.ok([...unstopped.values()].some((r) => r.usage?.outputTokens === MAX_TOKENS), 'maxTokens cut some answer short');

  for (const r of [stopped.get('overlong')!, unstopped.get('overlong')!]) {
    assert.equal(r.status, 'failed', `${r.modelId}/overlong fails`);
    assert.deepEqual([r.sampleId, r.errorType, r.attempts], ['overlong', ErrorTypes.ProviderPermanent, 1], `${r.modelId}/overlong: a permanent error, one attempt`);

    assert.match(r.error ?? '', /HTTP 400 \(exceed_context_size_error\): request \(\d+ tokens\) exceeds the available context size \(512 tokens\)/);
  }
  // llama.cpp logs each rejected request: one call per model, no retry, each failure stored in seconds.
  const rejected = serverErrors(server, 'exceeds the available context size');
  assert.equal(rejected.length, 2, `the server rejected the overlong prompt ${rejected.length} times:\n${rejected.map((e) => e.line).join('\n')}`);
  const lastStored = Math.max(stopped.get('overlong')!.finishedAt.getTime(), unstopped.get('overlong')!.finishedAt.getTime());
  assert.ok(lastStored - rejected[1].at < 15_000, `the failure was stored ${lastStored - rejected[1].at} ms after the server's answer`);
  for (const job of run.jobs) {
    const mine = run.results.filter((r) => r.modelId === job.modelId && r.status === 'succeeded');
    assert.equal(job.counts.failed, 1, `${job.modelId}: one failed sample`);
    assert.equal(job.metrics?.tokens.input, mine.reduce((n, r) => n + r.usage!.inputTokens, 0), `${job.modelId}: input tokens summed`);
    assert.equal(job.metrics?.tokens.output, mine.reduce((n, r) => n + r.usage!.outputTokens, 0), `${job.modelId}: output tokens summed`);
    assert.ok((job.metrics?.latencyMs.p50 ?? 0) > 0, `${job.modelId}: latency p50`);
  }
});
