import { sampleWorkflowId } from '../contracts';
import type { AssignmentDoc, JobDoc, ResultDoc, SampleDoc } from '../store/documents';
import { workflowUiUrl } from '../temporal/client';
import { href, html, link, pre, seg, table, type Html, type HtmlValue } from './html';
import { money, ms, num, page, statusBadge, when } from './layout';
import { DEFAULT_PAGE_SIZE, indexPage, latencyPercentiles, needsDigest, pageOf, parseSampleQuery, rowFilter, sortRows, type DigestRow, type PageOf, type SampleQuery } from './digest';
import type { JobTexts } from './text-digest';
import { loadAssignment, loadJob, loadRows, NotFound, sampleRecordId, type ListRow, type ListSample, type ViewerContext } from './data';

/** Characters of input and prediction shown in a list cell; the sample page shows everything. */
const CELL_CHARS = 300;

function clip(text: string | null | undefined, n = CELL_CHARS): string {
  if (typeof text !== 'string') return '';
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

/** Any value from a dataset as text: strings as they are, the rest as JSON. */
export function asText(x: unknown): string {
  return x === null || x === undefined ? '' : typeof x === 'string' ? x : JSON.stringify(x, null, 2);
}

/** A page that is not ready yet: how far the job's digest is, reloading itself each second. */
function preparing(title: string, what: string, read: number, total: number): string {
  return page(title, html`<h1>${title}</h1><p class="notice" id="preparing">Reading ${what} of this job once for filtering and sorting: ${num(read)} of ${num(total)} so far. This page reloads itself.</p>`, { refreshSeconds: 1 });
}

/** Orders of sorted and filtered lists, memoised per digest and query (a deep page is then a slice). */
const ordered = new WeakMap<object, Map<string, DigestRow[]>>();

function filteredRows(rows: DigestRow[], texts: JobTexts | undefined, q: SampleQuery): DigestRow[] {
  const key = JSON.stringify([q.show, q.min, q.max, q.q?.toLowerCase(), q.sort, q.dir]);
  const memo = ordered.get(rows) ?? new Map<string, DigestRow[]>();
  ordered.set(rows, memo);
  const known = memo.get(key);
  if (known) return known;
  const out = sortRows(rows.filter(rowFilter(q, texts)), q);
  if (memo.size > 16) memo.clear();
  memo.set(key, out);
  return out;
}

type Listed = { page: PageOf<number>; rows: DigestRow[] | null } | { preparing: string };

async function listIndexes(ctx: ViewerContext, job: JobDoc, q: SampleQuery, title: string): Promise<Listed> {
  if (!needsDigest(q)) return { page: indexPage(job.counts.total, q), rows: ctx.digests.peekRows(job) ?? null };
  // Both digests are read at once, so a text search waits for the longer read, not for both in turn.
  const [digest, t] = await Promise.all([ctx.digests.rowsOf(job), q.q ? ctx.digests.textsOf(job) : undefined]);
  if (!digest.ready) return { preparing: preparing(title, 'the sample records', digest.read, digest.total) };
  if (t && !t.ready) return { preparing: preparing(title, 'the inputs and predictions', t.read, job.counts.total) };
  const all = filteredRows(digest.value, t?.value, q);
  const p = pageOf(all, q.page, q.size);
  return { page: { ...p, items: p.items.map((r) => r.index) }, rows: digest.value };
}

function scoreText(s: ListSample | null, r: ResultDoc | null): string {
  const v = typeof s?.score === 'number' ? s.score : r?.score?.value;
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : '-';
}

function cell(text: string): Html | '' {
  return text ? pre(text) : '';
}

function listRow(base: string, row: ListRow): HtmlValue[] {
  const { sample: s, result: r } = row;
  const passed = typeof s?.passed === 'boolean' ? s.passed : r?.score?.passed;
  return [
    link(`${base}/samples/${row.index}`, String(row.index)), s ? statusBadge(s.status) : html`<span class="muted">not finished</span>`,
    html`<span class="num">${scoreText(s, r)}</span>`, passed === true ? html`<span class="ok">yes</span>` : passed === false ? html`<span class="bad">no</span>` : '-',
    cell(clip(r?.input)), cell(clip(r?.prediction)), cell(clip(asText(r?.target), 120)), r?.error ? html`<span class="bad">${clip(r.error, 160)}</span>` : '',
    html`<span class="num">${ms(r?.latencyMs)}</span>`,
  ];
}

function filterForm(q: SampleQuery, base: string): Html {
  const opt = (name: string, value: string, label: string, current: string): Html =>
    html`<option value="${value}"${current === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="${base}" id="filters">
<label>show<select name="show">${[['all', 'all'], ['failed', 'failed'], ['wrong', 'wrong'], ['correct', 'correct'], ['reused', 'reused']].map(([v, l]) => opt('show', v, l, q.show))}</select></label>
<label>score from<input type="number" step="any" name="min" value="${q.min ?? ''}"></label>
<label>score to<input type="number" step="any" name="max" value="${q.max ?? ''}"></label>
<label>text in input or prediction<input type="text" name="q" value="${q.q ?? ''}"></label>
<label>sort<select name="sort">${[['index', 'index'], ['score', 'score'], ['latency', 'latency']].map(([v, l]) => opt('sort', v, l, q.sort))}</select></label>
<label>order<select name="dir">${opt('dir', 'asc', 'ascending', q.dir)}${opt('dir', 'desc', 'descending', q.dir)}</select></label>
<button type="submit">Apply</button> ${link(base, 'reset')}</form>`;
}

function pager(base: string, q: SampleQuery, p: PageOf<number>): Html {
  const at = (n: number): string => href(base, { show: q.show === 'all' ? undefined : q.show, min: q.min, max: q.max, q: q.q, sort: q.sort === 'index' ? undefined : q.sort, dir: q.dir === 'asc' ? undefined : q.dir, size: q.size === DEFAULT_PAGE_SIZE ? undefined : q.size, page: n === 1 ? undefined : n });
  return html`<div class="pager"><span id="count">${num(p.total)} samples</span><span>page ${num(p.page)} of ${num(p.pages)}</span>
${p.page > 1 ? link(at(1), 'first') : ''}${p.page > 1 ? link(at(p.page - 1), '← previous') : ''}${p.page < p.pages ? link(at(p.page + 1), 'next →') : ''}${p.page < p.pages ? link(at(p.pages), 'last') : ''}</div>`;
}

/** `/assignments/<id>/jobs/<job>`: the job's samples, paged on the server, with filters and sorting. */
export async function samplesPage(ctx: ViewerContext, assignmentId: string, jobId: string, params: URLSearchParams): Promise<string> {
  const q = parseSampleQuery(params);
  const [a, job] = await Promise.all([loadAssignment(ctx.store, assignmentId), loadJob(ctx.store, assignmentId, jobId)]);
  const title = `${job.jobId} · ${a.name}`;
  const listed = await listIndexes(ctx, job, q, title);
  if ('preparing' in listed) return listed.preparing;
  const base = `/assignments/${seg(a._id)}/jobs/${seg(job.jobId)}`;
  const rows = await loadRows(ctx.store, job, listed.page.items, listed.rows ?? undefined);
  const lat = listed.rows ? latencyPercentiles(listed.rows) : null;
  const body = html`<h1>${job.jobId} <span class="muted">in ${link(`/assignments/${seg(a._id)}`, a.name)}</span></h1>
<p>${statusBadge(job.status)} ${num(job.counts.total)} samples: ${num(job.counts.succeeded)} succeeded, ${num(job.counts.failed)} failed, ${num(job.counts.reused)} reused
${lat ? html` · latency p50 ${ms(lat.p50)}, p90 ${ms(lat.p90)}, p95 ${ms(lat.p95)}, p99 ${ms(lat.p99)}` : ''}
· ${link(workflowUiUrl(ctx.uiBase, ctx.namespace, job.workflowId), 'job workflow in Temporal', { external: true })}</p>
${filterForm(q, base)}${pager(base, q, listed.page)}
${table(['index', 'status', 'score', 'passed', 'input', 'prediction', 'target', 'error', 'latency'], rows.map((r) => listRow(base, r)), { id: 'samples' })}
${pager(base, q, listed.page)}`;
  return page(title, body);
}

function messages(list: ReadonlyArray<{ role: string; content: string; truncated?: number }>, id: string): Html {
  return html`<div id="${id}">${list.map((m, i) => html`<div class="msg" data-turn="${i}"><div class="role">${m.role}${m.truncated ? html` <span class="bad truncated">cut when stored: ${num(m.truncated)} characters</span>` : ''}</div>${pre(m.content)}</div>`)}</div>`;
}

/**
 * The prompt section: the chat messages as sent (stored with the result), and the whole flattened prompt
 * when a message was cut; results stored before messages were kept show the task's template and the text.
 */
function promptSection(a: AssignmentDoc, taskId: string, r: ResultDoc | null): Html {
  const sent = r?.messages ?? [];
  if (sent.length === 0) {
    return html`<h2>Prompt as sent</h2><p class="muted">This result keeps no chat messages (stored before they were kept): the task's messages filled with this sample and joined into one text; the template:</p>${messages(configuredPrompt(a.config, taskId), 'template')}${pre(r?.input ?? '')}`;
  }
  const cut = sent.some((m) => m.truncated);
  return html`<h2>Messages as sent</h2>${messages(sent, 'messages')}
${cut ? html`<details id="full-prompt"><summary>Long messages were cut when stored; the whole prompt as one text</summary>${pre(r?.input ?? '')}</details>` : ''}`;
}

function configuredPrompt(config: Record<string, unknown>, taskId: string): Array<{ role: string; content: string }> {
  const tasks = Array.isArray(config.tasks) ? (config.tasks as Array<Record<string, unknown>>) : [];
  const prompt = tasks.find((t) => t && t.id === taskId)?.prompt;
  if (typeof prompt === 'string') return [{ role: 'user', content: prompt }];
  return Array.isArray(prompt) ? prompt.filter((m): m is { role: string; content: string } => !!m && typeof m.content === 'string') : [];
}

function facts(ctx: ViewerContext, s: SampleDoc, r: ResultDoc | null): Html {
  const u = r?.usage;
  return html`<dl class="facts"><dt>status</dt><dd>${statusBadge(s.status)}${r && r.status !== s.status ? html` <span class="muted">(stored result: ${r.status})</span>` : ''}</dd>
<dt>score</dt><dd id="score">${scoreText(s, r)}${typeof r?.score?.passed === 'boolean' ? (r.score.passed ? ' (passed)' : ' (not passed)') : ''}</dd>
${r?.score?.extracted !== undefined ? html`<dt>extracted</dt><dd>${r.score.extracted}</dd>` : ''}
${r?.score?.explanation ? html`<dt>explanation</dt><dd>${pre(r.score.explanation)}</dd>` : ''}
${r?.error ? html`<dt>error</dt><dd class="bad" id="error">${r.errorType ? `${r.errorType}: ` : ''}${r.error}</dd>` : ''}
<dt>attempts</dt><dd>${num(r?.attempts)}</dd>${r?.restarts ? html`<dt>restarts</dt><dd>${num(r.restarts)}</dd>` : ''}
<dt>latency</dt><dd>${ms(r?.latencyMs)}</dd><dt>tokens</dt><dd>${num(u?.inputTokens)} in, ${num(u?.outputTokens)} out</dd><dt>cost</dt><dd>${money(r?.cost)}</dd>
<dt>worker</dt><dd>${r?.worker ?? '-'}</dd><dt>started / finished</dt><dd>${when(r?.startedAt)} / ${when(r?.finishedAt)}</dd>
<dt>sample key</dt><dd><code>${s.sampleKey}</code></dd><dt>dataset id</dt><dd>${r?.sampleId ?? '-'}</dd>
<dt>workflow</dt><dd>${link(workflowUiUrl(ctx.uiBase, ctx.namespace, sampleWorkflowId(s.sampleKey)), sampleWorkflowId(s.sampleKey), { external: true })}</dd></dl>`;
}

/** `/assignments/<id>/jobs/<job>/samples/<index>`: everything about one sample, an agent episode turn by turn. */
export async function samplePage(ctx: ViewerContext, assignmentId: string, jobId: string, indexText: string): Promise<string> {
  const index = Number(indexText);
  if (!Number.isInteger(index) || index < 0) throw new NotFound(`no sample "${indexText}"`);
  const [a, job] = await Promise.all([loadAssignment(ctx.store, assignmentId), loadJob(ctx.store, assignmentId, jobId)]);
  const s = await ctx.store.samples.findOne({ _id: sampleRecordId(job, index) });
  if (!s) throw new NotFound(`sample ${index} of job "${jobId}" has not finished (or does not exist)`);
  const r = await ctx.store.results.findOne({ _id: s.sampleKey });
  const base = `/assignments/${seg(a._id)}/jobs/${seg(job.jobId)}`;
  const episode = r?.transcript && r.transcript.length > 0;
  const body = html`<h1>Sample ${index} <span class="muted">of ${link(base, job.jobId)} in ${link(`/assignments/${seg(a._id)}`, a.name)}</span></h1>
<div class="pager">${index > 0 ? link(`${base}/samples/${index - 1}`, '← previous') : ''}${index + 1 < job.counts.total ? link(`${base}/samples/${index + 1}`, 'next →') : ''}</div>
${facts(ctx, s, r)}
${episode ? html`<h2>Episode, turn by turn</h2>${r?.episode ? html`<p>environment status: ${r.episode.status}, ${num(r.episode.turns)} turns</p>` : ''}${messages(r?.transcript ?? [], 'transcript')}`
    : promptSection(a, job.taskId, r)}
<h2>Prediction</h2><div id="prediction">${pre(r?.prediction ?? '')}</div>
<h2>Target</h2><div id="target">${pre(asText(r?.target))}</div>
${r?.episode ? html`<h2>Environment result</h2>${pre(asText(r.episode.result))}` : ''}`;
  return page(`Sample ${index} · ${job.jobId}`, body);
}
