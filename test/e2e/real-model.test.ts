/**
 * The short case of the real-model suite (test/real/real-model.test.ts, `npm run test:real`): one chat
 * call and one context-length error against llama.cpp's server on Gemma 3 270M, through the `openai`
 * provider and the whole stack. The model's words are never checked, only what evalctl stores.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorTypes } from '../../src/contracts/errors';
import { openStore, type Store } from '../../src/store/store';
import { overlongQuestion, runRealAssignment, serverErrors, useRealModelServer, writeRealModelConfig } from '../helpers/real-model';
import { useTestStack } from '../helpers/stack';

const getStack = useTestStack();
const getServer = useRealModelServer({ ctxSize: 512 });
const dir = mkdtempSync(join(tmpdir(), 'evalctl-real-short-'));
let store: Store | undefined;
after(async () => {
  await store?.close();
});

test('a real llama.cpp server: one answer with usage and latency stored, one context-length error as a failed sample', async () => {
  const server = getServer();
  store ??= await openStore(getStack().mongoUrl);
  const maxTokens = 8;
  const config = writeRealModelConfig(dir, 'real-short', server, [{ id: 'gemma', params: { temperature: 0, maxTokens, stop: ['\n'] } }], [
    { id: 'france', question: 'The capital of France is', target: 'Paris' },
    { id: 'overlong', question: overlongQuestion(server.ctxSize), target: 'lorem' },
  ]);
  const run = await runRealAssignment(getStack(), store, config);
  process.stderr.write(`real model (short): ${run.results.length} results in ${(run.ms / 1000).toFixed(1)}s\n`);
  assert.equal(run.status, 'completed');
  const [answer, overlong] = [0, 1].map((i) => run.results.find((r) => r.sampleIndex === i));
  assert.ok(answer && overlong, `both samples stored: ${JSON.stringify(run.results.map((r) => r.sampleIndex))}`);

  assert.equal(answer.status, 'succeeded', answer.error ?? '');
  assert.equal(typeof answer.prediction, 'string');
  assert.ok(!answer.prediction!.includes('\n'), 'the stop sequence ended the answer');
  assert.ok(answer.usage && answer.usage.inputTokens > 0, 'prompt tokens recorded');
  assert.ok(answer.usage.outputTokens >= 1 && answer.usage.outputTokens <= maxTokens, `completion tokens ${answer.usage.outputTokens} within maxTokens`);
  assert.ok(typeof answer.latencyMs === 'number' && answer.latencyMs > 0, 'latency recorded');

  assert.deepEqual([overlong.status, overlong.sampleId, overlong.errorType, overlong.attempts], ['failed', 'overlong', ErrorTypes.ProviderPermanent, 1]);
  assert.match(overlong.error ?? '', /HTTP 400 \(exceed_context_size_error\): request \(\d+ tokens\) exceeds the available context size \(512 tokens\)/);
  assert.equal(serverErrors(server, 'exceeds the available context size').length, 1, 'the overlong prompt was sent once, not retried');
  const job = run.jobs[0];
  assert.equal(job.counts.failed, 1);
  assert.equal(job.metrics?.tokens.output, answer.usage.outputTokens, 'tokens summed into the job');
});
