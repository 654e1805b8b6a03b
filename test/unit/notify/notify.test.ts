import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounts } from '../../../src/contracts';
import { NotifySchema, type NotifyConfig } from '../../../src/config/schema';
import { acceptLark, deliver, retryAfterMs, type DeliveryOptions } from '../../../src/notify/deliver';
import { larkBody, slackBody, webhookBody, type NotifySummary } from '../../../src/notify/payload';
import { channelsFor, redactTarget, sendNotifications } from '../../../src/notify/send';

const summary: NotifySummary = {
  assignmentId: 'a1', name: 'grid', status: 'failed', error: '3 of 10 samples failed', counts: { ...emptyCounts(10), succeeded: 7, failed: 3 },
  jobs: [{ jobId: 'm0/t0', modelId: 'm0', taskId: 't0', status: 'completed', score: { n: 7, mean: 0.5, ci95: [0.2, 0.8], method: 'wilson' } }],
  endedAt: '2024-05-01T10:00:00.000Z', uiUrl: 'http://ui/x',
};

test('webhook, slack and lark bodies carry the outcome, counts, error and scores', () => {
  const hook = webhookBody(summary);
  assert.equal(hook.event, 'assignment.failed');
  assert.equal(hook.version, 1);
  assert.equal(hook.counts.failed, 3);
  const slack = slackBody({ ...summary, error: 'a <b> & c' });
  assert.match(slack.text, /grid failed \(a1\)/);
  assert.match(slack.blocks[1].text.text, /a &lt;b&gt; &amp; c/);
  assert.match(slack.blocks[1].text.text, /m0\/t0: 0\.500 \[0\.200, 0\.800\] \(n=7\)/);
  const lark = larkBody(summary);
  assert.equal(lark.msg_type, 'post');
  assert.match(lark.content.post.en_us.title, /failed/);
  assert.ok(lark.content.post.en_us.content.some((p) => p[0].text.includes('3 failed')));
});

/** A fake clock and fetch: replies are scripted, waits advance the clock instead of sleeping. */
function harness(replies: Array<number | 'refused' | 'hang'>, headers: Record<string, string> = {}) {
  let clock = 0;
  const calls: Array<{ url: string; body: string }> = [];
  const waits: number[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), body: String(init?.body) });
    const next = replies[Math.min(calls.length - 1, replies.length - 1)];
    if (next === 'refused') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    if (next === 'hang') {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => { clock += 50; reject(new Error('aborted')); }));
    }
    return new Response('ok', { status: next, headers });
  }) as typeof fetch;
  const opts: DeliveryOptions = { fetch: fetchFn, now: () => clock, sleep: async (ms) => { waits.push(ms); clock += ms; } };
  return { opts, calls, waits };
}

test('server errors are retried with growing backoff until accepted', async () => {
  const h = harness([503, 500, 200]);
  const r = await deliver('http://127.0.0.1:1/hook', { a: 1 }, { ...h.opts, backoffMs: 100 });
  assert.deepEqual({ ok: r.ok, attempts: r.attempts, status: r.status }, { ok: true, attempts: 3, status: 200 });
  assert.deepEqual(h.waits, [100, 200]);
  assert.deepEqual(JSON.parse(h.calls[0].body), { a: 1 });
});

test('a 4xx refusal is not retried; a refused connection is, and never throws', async () => {
  const bad = harness([400]);
  const r1 = await deliver('http://x/hook', {}, bad.opts);
  assert.equal(r1.ok, false);
  assert.equal(r1.attempts, 1);
  assert.match(r1.error ?? '', /HTTP 400/);
  const down = harness(['refused']);
  const r2 = await deliver('http://x/hook', {}, { ...down.opts, attempts: 3 });
  assert.equal(r2.ok, false);
  assert.equal(r2.attempts, 3);
  assert.match(r2.error ?? '', /ECONNREFUSED/);
});

test('the total budget bounds attempts, per-attempt timeouts and Retry-After', async () => {
  const hang = harness(['hang']);
  const r = await deliver('http://x/hook', {}, { ...hang.opts, attempts: 100, timeoutMs: 50, budgetMs: 3_000 });
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /timed out after \d+ ms/);
  assert.ok(r.elapsedMs <= 3_000, `elapsed ${r.elapsedMs}`);
  const limited = harness([429], { 'retry-after': '60' });
  const r2 = await deliver('http://x/hook', {}, { ...limited.opts, budgetMs: 5_000 });
  assert.equal(r2.attempts, 1, 'a Retry-After beyond the budget ends the delivery');
  assert.equal(retryAfterMs('2'), 2000);
});

test('lark refusals inside HTTP 200 are failures', () => {
  assert.equal(acceptLark(200, '{"code":0,"msg":"success"}').ok, true);
  const v = acceptLark(200, '{"code":19021,"msg":"sign match fail"}');
  assert.deepEqual([v.ok, v.retry], [false, false]);
});

test('only channels that asked for this ending are sent to, with their own format; targets are redacted', async () => {
  const configs: NotifyConfig[] = [
    NotifySchema.parse({ kind: 'webhook', url: 'http://127.0.0.1:9/a', on: ['completed'] }),
    NotifySchema.parse({ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/secret' }),
    NotifySchema.parse({ kind: 'lark', url: 'http://127.0.0.1:9/lark', on: ['failed'] }),
  ];
  const chosen = channelsFor(configs, 'failed');
  assert.deepEqual(chosen.map((c) => c.index), [1, 2]);
  const h = harness([200]);
  const out = await sendNotifications(chosen, summary, h.opts);
  assert.deepEqual(out.map((o) => [o.kind, o.result.ok, o.target]), [['slack', true, 'https://hooks.slack.com'], ['lark', true, 'http://127.0.0.1:9']]);
  const bodies = h.calls.map((c) => JSON.parse(c.body) as Record<string, unknown>);
  assert.ok('blocks' in bodies[0] && bodies[1].msg_type === 'post');
  assert.equal(redactTarget('not a url'), 'invalid-url');
});
