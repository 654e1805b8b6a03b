import { stringify } from 'yaml';
import { isTerminal } from '../contracts';
import type { AssignmentDoc, EventDoc, JobDoc } from '../store/documents';
import { buildSummary, configIds } from '../report/summary';
import { workflowUiUrl } from '../temporal/client';
import { href, html, link, pre, seg, table, type Html } from './html';
import { money, ms, num, page, progressBar, scoreCi, statusBadge, when } from './layout';
import { loadAssignment, loadJobs, type ViewerContext } from './data';
import { maskSecrets } from './secrets';
import { providerBatchesOf, type ProviderBatchView } from '../control/status';

/** Assignments per page of the list. */
export const ASSIGNMENTS_PER_PAGE = 50;

/** Samples that have ended, of a count. */
function doneOf(c: AssignmentDoc['counts']): number {
  return c.succeeded + c.failed + c.reused + c.canceled;
}

/** Whether an assignment matches a search: its id, name, or one of its model or task ids contains the text. */
export function matchesSearch(a: Pick<AssignmentDoc, '_id' | 'name' | 'config'>, q: string): boolean {
  const needle = q.toLowerCase();
  const ids = configIds(a.config);
  return [a._id, a.name, ...ids.models, ...ids.tasks].some((s) => s.toLowerCase().includes(needle));
}

/**
 * The newest assignments matching a search, before a creation time (keyset paging: the next page starts
 * after the last one shown, never by skipping). Reads in batches until a page is full.
 */
export async function findAssignments(ctx: ViewerContext, q: string, before?: Date): Promise<{ items: AssignmentDoc[]; next?: Date }> {
  const items: AssignmentDoc[] = [];
  let cursorTime = before;
  for (;;) {
    const filter = cursorTime ? { createdAt: { $lt: cursorTime } } : {};
    const batch = await ctx.store.assignments.find(filter).sort({ createdAt: -1, _id: -1 }).limit(200).toArray();
    for (const a of batch) if (!q || matchesSearch(a, q)) items.push(a);
    if (batch.length < 200 || items.length >= ASSIGNMENTS_PER_PAGE) break;
    cursorTime = batch[batch.length - 1].createdAt;
  }
  const shown = items.slice(0, ASSIGNMENTS_PER_PAGE);
  const more = items.length > ASSIGNMENTS_PER_PAGE || (shown.length === ASSIGNMENTS_PER_PAGE);
  return { items: shown, next: more ? shown[shown.length - 1]?.createdAt : undefined };
}

/** `/`: assignments, newest first, with live progress while any of them runs. */
export async function assignmentsPage(ctx: ViewerContext, params: URLSearchParams): Promise<string> {
  const q = (params.get('q') ?? '').trim().slice(0, 200);
  const beforeText = params.get('before');
  const before = beforeText ? new Date(beforeText) : undefined;
  const { items, next } = await findAssignments(ctx, q, before && !Number.isNaN(before.getTime()) ? before : undefined);
  const rows = items.map((a) => [
    link(`/assignments/${seg(a._id)}`, a._id), a.name, statusBadge(a.paused && a.status === 'running' ? 'paused' : a.status),
    html`<span class="num">${num(a.counts.total)}</span>`, progressBar(doneOf(a.counts), a.counts.total),
    num(a.counts.succeeded), num(a.counts.failed), num(a.counts.reused), num(a.counts.running), when(a.createdAt),
  ]);
  const live = items.some((a) => !isTerminal(a.status));
  const body = html`<h1>Assignments</h1>
<form class="filters" method="get" action="/"><label>search name, id, model or task<input type="text" name="q" value="${q}"></label><button type="submit">Search</button></form>
${items.length === 0 ? html`<p class="notice">No assignments${q ? ' match this search' : html` yet: start one with <code>evalctl start</code>`}.</p>` : table(['assignment', 'name', 'status', 'samples', 'progress', 'succeeded', 'failed', 'reused', 'running', 'created'], rows, { id: 'assignments' })}
<div class="pager">${before ? link(href('/', { q }), 'newest') : ''}${next ? link(href('/', { q, before: next.toISOString() }), 'older →') : ''}</div>
${live ? html`<p class="muted">Refreshing every 3 s while an assignment runs.</p>` : ''}`;
  return page('Assignments', body, { refreshSeconds: live ? 3 : undefined });
}

function jobCells(ctx: ViewerContext, a: AssignmentDoc, j: JobDoc): Html[] {
  const samples = `/assignments/${seg(a._id)}/jobs/${seg(j.jobId)}`;
  const m = j.metrics;
  return [
    link(samples, j.jobId), statusBadge(j.status), progressBar(doneOf(j.counts), j.counts.total),
    html`${num(j.counts.total)}`, html`${num(j.counts.succeeded)}`, html`${link(`${samples}?show=failed`, num(j.counts.failed))}`,
    html`${link(`${samples}?show=reused`, num(j.counts.reused))}`, html`${num(j.counts.canceled)}`,
    html`${num(m?.tokens.input)} / ${num(m?.tokens.output)}`, html`${money(m?.cost)}`,
    html`${ms(m?.latencyMs.p50)} / ${ms(m?.latencyMs.p95)}`,
    link(workflowUiUrl(ctx.uiBase, ctx.namespace, j.workflowId), 'Temporal', { external: true }),
  ];
}

function summaryTable(a: AssignmentDoc, jobs: JobDoc[]): Html {
  const summary = buildSummary(a, jobs);
  const rows = summary.rows.map((r) => [
    r.modelId,
    ...summary.tasks.map((t) => {
      const cell = r.cells[t];
      if (!cell) return html`<span class="muted">-</span>`;
      return html`${link(`/assignments/${seg(a._id)}/jobs/${seg(cell.jobId)}`, scoreCi(cell.score))} <span class="muted">n=${num(cell.score?.n ?? 0)}</span>`;
    }),
  ]);
  return table(['model \\ task', ...summary.tasks], rows, { id: 'scores' });
}

/** One provider batch: its range, the endpoint's id and state, and how its samples were stored. */
function batchCells(b: ProviderBatchView): Html[] {
  const stored = b.collected ? `${b.collected.succeeded} ok, ${b.collected.failed} failed, ${b.collected.canceled} canceled${b.collected.unanswered ? `, ${b.collected.unanswered} resubmitted` : ''}` : '';
  return [
    html`${b.jobId}`, html`${b.start}–${b.end - 1}`, html`${b.round}`, html`<code>${b.remoteId ?? '(nothing to send)'}</code>`, statusBadge(b.status),
    html`${num(b.requests)}`, html`${b.counts ? `${num(b.counts.completed)} / ${num(b.counts.failed)}` : ''}`, html`${stored}`,
  ];
}

function eventRows(events: EventDoc[]): Html[][] {
  return events.map((e) => [html`${when(e.at)}`, html`${e.type}`, pre(e.data ? JSON.stringify(e.data) : '', 'text')]);
}

/** `/assignments/<id>`: scores with CIs, jobs with counts and costs, config snapshot, events, Temporal links. */
export async function assignmentPage(ctx: ViewerContext, id: string): Promise<string> {
  const a = await loadAssignment(ctx.store, id);
  const [jobs, events, batches] = await Promise.all([
    loadJobs(ctx.store, id),
    ctx.store.events.find({ assignmentId: id }).sort({ at: -1 }).limit(200).toArray(),
    providerBatchesOf(ctx.store, id),
  ]);
  const totals = jobs.reduce((t, j) => ({ in: t.in + (j.metrics?.tokens.input ?? 0), out: t.out + (j.metrics?.tokens.output ?? 0), cost: t.cost + (j.metrics?.cost ?? 0) }), { in: 0, out: 0, cost: 0 });
  const live = !isTerminal(a.status);
  const body = html`<h1>${a.name} <span class="muted">${a._id}</span></h1>
<dl class="facts"><dt>status</dt><dd>${statusBadge(a.paused && a.status === 'running' ? 'paused' : a.status)} ${progressBar(doneOf(a.counts), a.counts.total)}</dd>
<dt>samples</dt><dd>${num(a.counts.total)} total, ${num(a.counts.succeeded)} succeeded, ${num(a.counts.failed)} failed, ${num(a.counts.reused)} reused, ${num(a.counts.canceled)} canceled, ${num(a.counts.running)} running</dd>
<dt>tokens</dt><dd>${num(totals.in)} in, ${num(totals.out)} out</dd><dt>cost</dt><dd>${money(totals.cost)}</dd>
<dt>mode</dt><dd>${a.mode}${a.reuseFrom ? ` (reusing ${a.reuseFrom})` : ''}</dd>
<dt>created</dt><dd>${when(a.createdAt)}</dd><dt>started</dt><dd>${when(a.startedAt)}</dd><dt>ended</dt><dd>${when(a.endedAt)}</dd>
${a.error ? html`<dt>error</dt><dd class="bad">${a.error}</dd>` : ''}
<dt>workflow</dt><dd>${link(workflowUiUrl(ctx.uiBase, ctx.namespace, a.workflowId), a.workflowId, { external: true })}</dd>
<dt>compare</dt><dd>${link(href('/compare', { a: a._id }), 'with another assignment')}</dd></dl>
<h2>Scores (mean [95% CI])</h2>${summaryTable(a, jobs)}
<h2>Jobs</h2>${table(['job', 'status', 'progress', 'samples', 'succeeded', 'failed', 'reused', 'canceled', 'tokens in / out', 'cost', 'latency p50 / p95', 'workflow'], jobs.map((j) => jobCells(ctx, a, j)), { id: 'jobs' })}
${batches.length ? html`<h2>Provider batches</h2>${table(['job', 'samples', 'round', 'batch id', 'state', 'requests', 'completed / failed', 'stored'], batches.map(batchCells), { id: 'batches' })}` : ''}
<h2>Config snapshot</h2><p class="muted">As stored at start: secrets stay <code>\${NAME}</code> references.</p>${pre(stringify(maskSecrets(a.config)))}
<h2>Events</h2>${table(['at', 'type', 'data'], eventRows(events), { id: 'events' })}
${live ? html`<p class="muted">Refreshing every 3 s while the assignment runs.</p>` : ''}`;
  return page(a.name, body, { refreshSeconds: live ? 3 : undefined });
}
