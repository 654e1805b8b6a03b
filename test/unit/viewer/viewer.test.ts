import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, href, html, link, pre, table } from '../../../src/viewer/html';
import { JobTexts } from '../../../src/viewer/text-digest';
import { searchTextOf } from '../../../src/store/search-text';
import { indexPage, isWrong, needsDigest, pageOf, parseSampleQuery, rowFilter, sortRows, type DigestRow } from '../../../src/viewer/digest';
import { changedSamples, pairedDelta } from '../../../src/viewer/pages-compare';
import { assignmentsPage, matchesSearch } from '../../../src/viewer/pages-assignments';
import { HIDDEN, maskSecrets } from '../../../src/viewer/secrets';
import { hostAllowed } from '../../../src/viewer/server';
import { samplePage } from '../../../src/viewer/pages-samples';
import { NotFound, type ViewerContext } from '../../../src/viewer/data';

const ATTACK = `<script>alert("x")</script><img src=x onerror='alert(1)'>&amp;\``;

test('every interpolated value is escaped; only Html fragments pass as markup', () => {
  assert.equal(escapeHtml(ATTACK), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;amp;&#96;');
  const out = html`<p title="${ATTACK}">${ATTACK}${html`<b>${ATTACK}</b>`}${[ATTACK, 1, null, undefined, false]}</p>`.markup;
  assert.ok(!out.includes('<script>') && !out.includes('<img') && !out.includes("'alert"), out);
  assert.equal((out.match(/<b>/g) ?? []).length, 1);
  assert.match(out, /^<p title="&lt;script&gt;/);
  assert.ok(!table([ATTACK], [[ATTACK]]).markup.includes('<script>'));
  assert.ok(!pre(ATTACK).markup.includes('<script>'));
});

test('links keep only http(s) and path targets, and escape them', () => {
  assert.equal(link('javascript:alert(1)', 'x').markup, '<a href="#">x</a>');
  assert.equal(link('/a?b="c"', '<i>').markup, '<a href="/a?b=&quot;c&quot;">&lt;i&gt;</a>');
  assert.equal(href('/x', { a: 'a b&c', b: undefined, c: '', d: 0, e: false }), '/x?a=a+b%26c&d=0');
});

const rows: DigestRow[] = [
  { index: 0, status: 'succeeded', score: 1, passed: true, latencyMs: 30, sampleKey: 'k0' },
  { index: 1, status: 'failed', score: null, passed: null, latencyMs: null, sampleKey: 'k1' },
  { index: 2, status: 'succeeded', score: 0, passed: false, latencyMs: 10, sampleKey: 'k2' },
  { index: 3, status: 'reused', score: 1, passed: true, latencyMs: 20, sampleKey: 'k3' },
  { index: 4, status: 'succeeded', score: 0.5, passed: null, latencyMs: 20, sampleKey: 'k4' },
  { index: 5, status: 'succeeded', score: 0, passed: null, latencyMs: 50, sampleKey: 'k5' },
];

function pick(query: string, texts?: JobTexts): number[] {
  const q = parseSampleQuery(new URLSearchParams(query));
  return sortRows(rows.filter(rowFilter(q, texts)), q).map((r) => r.index);
}

test('sample filters: failed, wrong, reused, correct, score range, text', () => {
  assert.deepEqual(pick('show=failed'), [1]);
  assert.deepEqual(pick('show=wrong'), [2, 5]);
  assert.deepEqual(pick('show=reused'), [3]);
  assert.deepEqual(pick('show=correct'), [0, 3, 4]);
  assert.deepEqual(pick('min=0.5'), [0, 3, 4]);
  assert.deepEqual(pick('min=0.1&max=0.9'), [4]);
  assert.deepEqual(pick('q=PARIS', JobTexts.ofSampleKeys([['k2', searchTextOf('What is the capital?', 'Paris')], ['k4', 'nothing']])), [2]);
  assert.deepEqual(pick('q=PARIS'), [], 'a text search without texts matches nothing');
  assert.equal(isWrong({ status: 'succeeded', score: 0.4, passed: null }), false);
});

test('sorting puts samples without a value last in both directions, ties by index', () => {
  assert.deepEqual(pick('sort=latency'), [2, 3, 4, 0, 5, 1]);
  assert.deepEqual(pick('sort=latency&dir=desc'), [5, 0, 3, 4, 2, 1]);
  assert.deepEqual(pick('sort=score&dir=desc'), [0, 3, 4, 2, 5, 1]);
});

test('query parsing: defaults, empty values absent, bad values rejected with the field named', () => {
  const q = parseSampleQuery(new URLSearchParams('show=&min=&page=3'));
  assert.deepEqual([q.show, q.min, q.page, q.size, q.sort, q.dir], ['all', undefined, 3, 50, 'index', 'asc']);
  assert.equal(needsDigest(q), false);
  assert.equal(needsDigest(parseSampleQuery(new URLSearchParams('sort=score'))), true);
  assert.throws(() => parseSampleQuery(new URLSearchParams('page=0')), /page/);
  assert.throws(() => parseSampleQuery(new URLSearchParams('show=everything')), /show/);
  assert.throws(() => parseSampleQuery(new URLSearchParams('min=abc')), /min/);
});

test('pages: unfiltered pages are computed index ranges; a deep page is a slice, past the end empty', () => {
  assert.deepEqual(indexPage(120, { dir: 'asc', page: 3, size: 50 }), { items: Array.from({ length: 20 }, (_, i) => 100 + i), total: 120, page: 3, pages: 3 });
  assert.deepEqual(indexPage(120, { dir: 'desc', page: 1, size: 3 }).items, [119, 118, 117]);
  assert.deepEqual(indexPage(120, { dir: 'asc', page: 9, size: 50 }).items, []);
  assert.deepEqual(pageOf([1, 2, 3, 4, 5], 2, 2), { items: [3, 4], total: 5, page: 2, pages: 3 });
  assert.equal(pageOf([], 1, 50).pages, 1);
});

test('comparison: exactly the indexes whose score changed, and a paired delta', () => {
  const after = rows.map((r) => (r.index === 2 ? { ...r, score: 1 } : r.index === 1 ? { ...r, score: 0, status: 'succeeded' as const } : r));
  assert.deepEqual(changedSamples(rows, after), [{ index: 1, before: null, after: 0 }, { index: 2, before: 0, after: 1 }]);
  const delta = pairedDelta(rows, after);
  assert.equal(delta?.n, 5);
  assert.ok(Math.abs((delta?.mean ?? 0) - 0.2) < 1e-9);
  assert.ok((delta?.ci95[0] ?? 1) < 0.2 && (delta?.ci95[1] ?? 0) > 0.2);
  assert.deepEqual(changedSamples(rows, rows), []);
});

test('config snapshots: references stay, literal secrets and URL passwords are hidden', () => {
  const masked = maskSecrets({ models: [{ provider: { apiKey: '${OPENAI_API_KEY}', headers: { Authorization: 'Bearer sk-live' }, url: 'mongodb://u:pw@h/db' } }], token: '' }) as Record<string, unknown>;
  assert.deepEqual(masked, { models: [{ provider: { apiKey: '${OPENAI_API_KEY}', headers: { Authorization: HIDDEN }, url: 'mongodb://u:***@h/db' } }], token: '' });
});

test('assignment search matches id, name, model and task ids', () => {
  const a = { _id: 'run-7', name: 'Nightly', config: { models: [{ id: 'llama-3' }], tasks: [{ id: 'gsm8k' }] } };
  for (const q of ['RUN-7', 'night', 'llama', 'gsm']) assert.ok(matchesSearch(a, q), q);
  assert.ok(!matchesSearch(a, 'mmlu'));
});

test('only the bound host names are accepted in the Host header (DNS rebinding)', () => {
  const bound = { host: '127.0.0.1', port: 8484 };
  assert.ok(hostAllowed('127.0.0.1:8484', bound) && hostAllowed('localhost:8484', bound));
  assert.ok(!hostAllowed('evil.example:8484', bound) && !hostAllowed(undefined, bound) && !hostAllowed('localhost:9999', bound));
  assert.ok(hostAllowed('anything:1', { host: '0.0.0.0', port: 1 }));
});

/** A stand-in for the few collections a sample page reads by `_id`. */
function fakeContext(docs: Record<string, Record<string, unknown>>): ViewerContext {
  const collection = (name: string) => ({ findOne: async (filter: { _id: string }) => docs[`${name}:${filter._id}`] ?? null });
  const store = { assignments: collection('assignments'), jobs: collection('jobs'), samples: collection('samples'), results: collection('results'), flavor: 'mongodb' };
  return { store, digests: undefined, uiBase: 'http://ui:8233', namespace: 'default' } as unknown as ViewerContext;
}

test('an agent sample shows its episode turn by turn, as text, with its workflow link', async () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ctx = fakeContext({
    'assignments:a1': { _id: 'a1', name: 'agents', config: { tasks: [{ id: 'os', prompt: [{ role: 'system', content: 'You are in a shell.' }] }] } },
    'jobs:a1/m/os': { _id: 'a1/m/os', assignmentId: 'a1', jobId: 'm/os', modelId: 'm', taskId: 'os', counts: { total: 2 }, workflowId: 'w' },
    'samples:a1/m/os/1': { _id: 'a1/m/os/1', index: 1, status: 'succeeded', sampleKey: 'key1', score: 1, passed: true },
    'results:key1': {
      _id: 'key1', status: 'succeeded', input: 'ls', prediction: 'done', target: { answer: 3 }, attempts: 2, latencyMs: 1234, usage: { inputTokens: 10, outputTokens: 4 }, cost: 0.5,
      worker: 'w@h', finishedAt: now, score: { value: 1, passed: true, explanation: 'matched' },
      transcript: [{ role: 'user', content: 'count files' }, { role: 'assistant', content: ATTACK }, { role: 'user', content: '3 files' }],
      episode: { status: 'completed', result: { ok: true }, turns: 2, index: 1 },
    },
  });
  const out = await samplePage(ctx, 'a1', 'm/os', '1');
  assert.equal((out.match(/class="msg" data-turn=/g) ?? []).length, 3);
  assert.ok(out.indexOf('count files') < out.indexOf('&lt;script&gt;') && out.indexOf('&lt;script&gt;') < out.indexOf('3 files'));
  assert.ok(!out.includes('<script>') && !out.includes('<img'));
  assert.match(out, /environment status: completed, 2 turns/);
  assert.match(out, /matched/);
  assert.ok(out.includes(`href="http://ui:8233/namespaces/default/workflows/${encodeURIComponent('evalctl/sample/key1')}"`));
  await assert.rejects(samplePage(ctx, 'a1', 'm/os', '0'), NotFound);
});

test('the assignment list reloads itself only while a listed assignment runs', async () => {
  const make = (status: string) => ({ _id: `a-${status}`, name: `n-${status}`, status, paused: false, config: {}, createdAt: new Date(), counts: { total: 10, succeeded: 4, failed: 0, reused: 0, canceled: 0, running: 2 } });
  const ctxWith = (docs: unknown[]) => ({
    store: { assignments: { find: () => ({ sort: () => ({ limit: () => ({ toArray: async () => docs }) }) }) } },
  }) as unknown as ViewerContext;
  const live = await assignmentsPage(ctxWith([make('running'), make('completed')]), new URLSearchParams());
  assert.match(live, /<meta http-equiv="refresh" content="3">/);
  assert.match(live, /<progress max="10" value="4"/);
  const done = await assignmentsPage(ctxWith([make('completed')]), new URLSearchParams());
  assert.ok(!done.includes('http-equiv="refresh"'));
});
