import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AssignmentConfigSchema, type TaskConfig } from '../../../src/config/schema';
import { ErrorTypes } from '../../../src/contracts';
import { SampleLimitError, withinLimits } from '../../../activities/limits';

function task(limits: Record<string, unknown>): TaskConfig {
  return AssignmentConfigSchema.parse({
    name: 'l', models: [{ id: 'm', provider: { kind: 'simulated' } }],
    tasks: [{ id: 't', dataset: { samples: [{ q: 'x' }] }, prompt: '{{q}}', limits }],
  }).tasks[0];
}

/** A call that answers after `ms` unless its signal aborts first. */
function slowCall(ms: number, usage = { inputTokens: 3, outputTokens: 4 }) {
  return (signal: AbortSignal) => new Promise<{ usage: typeof usage }>((resolve, reject) => {
    const timer = setTimeout(() => resolve({ usage }), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    }, { once: true });
  });
}

const isLimit = (type: string) => (err: unknown) => err instanceof SampleLimitError && err.type === type && err.retryable === false;

describe('withinLimits', () => {
  it('aborts a call at the time limit and fails it as EvalTimeLimit', async () => {
    const started = Date.now();
    await assert.rejects(withinLimits(task({ timeMs: 50 }), Date.now(), new AbortController().signal, slowCall(5_000)), isLimit(ErrorTypes.TimeLimit));
    assert.ok(Date.now() - started < 2_000, 'cut at the limit, not at the end of the call');
  });

  it('counts from the first attempt: a sample out of time fails before calling', async () => {
    let called = false;
    const call = async () => {
      called = true;
      return { usage: { inputTokens: 0, outputTokens: 0 } };
    };
    await assert.rejects(withinLimits(task({ timeMs: 100 }), Date.now() - 200, new AbortController().signal, call), isLimit(ErrorTypes.TimeLimit));
    assert.equal(called, false);
  });

  it('a cancel stays a cancel, not a time limit', async () => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 10);
    await assert.rejects(withinLimits(task({ timeMs: 5_000 }), Date.now(), cancel.signal, slowCall(5_000)), (err: unknown) => !(err instanceof SampleLimitError));
  });

  it('refuses an answer above the token limit, counting input and output', async () => {
    await assert.rejects(withinLimits(task({ tokens: 6 }), Date.now(), new AbortController().signal, slowCall(0)), isLimit(ErrorTypes.TokenLimit));
    const ok = await withinLimits(task({ tokens: 7 }), Date.now(), new AbortController().signal, slowCall(0));
    assert.equal(ok.usage.outputTokens, 4);
  });
});
