import { tInterval } from '../metrics';
import type { AssignmentDoc, JobDoc } from '../store/documents';
import { readLeaderboards } from '../report/source';
import { href, html, link, pre, seg, table, type Html } from './html';
import { num, page, scoreCi, when } from './layout';
import { pageOf, type DigestRow } from './digest';
import { BadRequest, loadAssignment, loadJobs, loadRows, type ViewerContext } from './data';

/** A sample index whose score differs between two runs of the same job (no score, a failure, counts as a value). */
export interface ChangedSample {
  index: number;
  before: number | null;
  after: number | null;
}

/** The indexes both runs have, with a changed score, in index order. */
export function changedSamples(a: readonly DigestRow[], b: readonly DigestRow[]): ChangedSample[] {
  const before = new Map(a.map((r) => [r.index, r.score]));
  const out: ChangedSample[] = [];
  for (const r of b) {
    if (!before.has(r.index)) continue;
    const old = before.get(r.index) ?? null;
    if (old !== r.score) out.push({ index: r.index, before: old, after: r.score });
  }
  return out.sort((x, y) => x.index - y.index);
}

/** Mean score change (b - a) over the indexes scored in both runs, with a paired t interval. */
export function pairedDelta(a: readonly DigestRow[], b: readonly DigestRow[]): { n: number; mean: number; ci95: [number, number] } | null {
  const before = new Map(a.filter((r) => r.score !== null).map((r) => [r.index, r.score as number]));
  const diffs = b.filter((r) => r.score !== null && before.has(r.index)).map((r) => (r.score as number) - (before.get(r.index) as number));
  if (diffs.length === 0) return null;
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  return { n: diffs.length, mean, ci95: tInterval(diffs) };
}

/** Changed samples and paired deltas per pair of digests, computed once per pair (digests are replaced, not mutated). */
const compared = new WeakMap<readonly DigestRow[], WeakMap<readonly DigestRow[], { changed: ChangedSample[]; delta: ReturnType<typeof pairedDelta> }>>();

/** The changed samples and the paired delta of two digests, memoised. */
export function comparison(a: readonly DigestRow[], b: readonly DigestRow[]): { changed: ChangedSample[]; delta: ReturnType<typeof pairedDelta> } {
  const inner = compared.get(a) ?? new WeakMap();
  compared.set(a, inner);
  const known = inner.get(b);
  if (known) return known;
  const value = { changed: changedSamples(a, b), delta: pairedDelta(a, b) };
  inner.set(b, value);
  return value;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
}

async function pickForm(ctx: ViewerContext, a?: string, b?: string): Promise<string> {
  const recent = await ctx.store.assignments.find({}, { projection: { name: 1, createdAt: 1, status: 1 } }).sort({ createdAt: -1 }).limit(200).toArray();
  const options = (current?: string): Html[] => recent.map((x) => html`<option value="${x._id}"${x._id === current ? html` selected` : ''}>${x.name} (${x._id}, ${x.status}, ${when(x.createdAt)})</option>`);
  return page('Compare', html`<h1>Compare two assignments</h1>
<form class="filters" method="get" action="/compare"><label>before (A)<select name="a">${options(a)}</select></label><label>after (B)<select name="b">${options(b)}</select></label><button type="submit">Compare</button></form>
<p class="muted">Jobs are paired by model and task id, samples by their index in the dataset.</p>`);
}

type PairRows = { ready: true; a: DigestRow[]; b: DigestRow[] } | { ready: false; read: number; total: number };

async function pairRows(ctx: ViewerContext, ja: JobDoc, jb: JobDoc): Promise<PairRows> {
  const [da, db] = await Promise.all([ctx.digests.rowsOf(ja), ctx.digests.rowsOf(jb)]);
  if (da.ready && db.ready) return { ready: true, a: da.value, b: db.value };
  const read = (da.ready ? da.value.length : da.read) + (db.ready ? db.value.length : db.read);
  return { ready: false, read, total: ja.counts.total + jb.counts.total };
}

function preparing(read: number, total: number): string {
  return page('Compare', html`<h1>Compare</h1><p class="notice" id="preparing">Reading the sample records of both runs once: ${num(read)} of ${num(total)}. This page reloads itself.</p>`, { refreshSeconds: 1 });
}

async function loadPair(ctx: ViewerContext, params: URLSearchParams): Promise<{ a: AssignmentDoc; b: AssignmentDoc; pairs: Array<[JobDoc, JobDoc]> }> {
  const [a, b] = await Promise.all([loadAssignment(ctx.store, params.get('a') ?? ''), loadAssignment(ctx.store, params.get('b') ?? '')]);
  const [ja, jb] = await Promise.all([loadJobs(ctx.store, a._id), loadJobs(ctx.store, b._id)]);
  const byId = new Map(jb.map((j) => [j.jobId, j]));
  return { a, b, pairs: ja.flatMap((j): Array<[JobDoc, JobDoc]> => (byId.has(j.jobId) ? [[j, byId.get(j.jobId) as JobDoc]] : [])) };
}

/** `/compare?a=&b=`: per model and task, the score of each run, the change with its 95% CI, and how many samples changed. */
export async function comparePage(ctx: ViewerContext, params: URLSearchParams): Promise<string> {
  if (!params.get('a') || !params.get('b')) return pickForm(ctx, params.get('a') ?? undefined, params.get('b') ?? undefined);
  const { a, b, pairs } = await loadPair(ctx, params);
  // Every pair's digests are asked for at once, so their builds overlap and one wait covers them all.
  const all = await Promise.all(pairs.map(([ja, jb]) => pairRows(ctx, ja, jb)));
  const waiting = all.filter((d): d is Extract<PairRows, { ready: false }> => !d.ready);
  if (waiting.length > 0) return preparing(waiting.reduce((n, d) => n + d.read, 0), waiting.reduce((n, d) => n + d.total, 0));
  const rows: Html[][] = [];
  for (const [i, [ja, jb]] of pairs.entries()) {
    const digests = all[i];
    if (!digests.ready) continue;
    const { delta, changed: list } = comparison(digests.a, digests.b);
    const changed = list.length;
    rows.push([
      html`${ja.jobId}`, html`${scoreCi(ja.metrics?.score)}`, html`${scoreCi(jb.metrics?.score)}`,
      html`${delta ? `${signed(delta.mean)} [${signed(delta.ci95[0])}, ${signed(delta.ci95[1])}]` : '-'}`, html`${num(delta?.n ?? 0)}`,
      link(href('/compare/samples', { a: a._id, b: b._id, job: ja.jobId }), `${num(changed)} changed`),
    ]);
  }
  const body = html`<h1>${a.name} → ${b.name}</h1>
<p>${link(`/assignments/${seg(a._id)}`, a._id)} (A) against ${link(`/assignments/${seg(b._id)}`, b._id)} (B) · ${link(href('/compare', { a: b._id, b: a._id }), 'swap')}</p>
${pairs.length === 0 ? html`<p class="notice">The two assignments share no model and task.</p>` : table(['job', 'A score [95% CI]', 'B score [95% CI]', 'B - A [95% CI, paired]', 'paired n', 'samples'], rows, { id: 'compare' })}`;
  return page(`Compare ${a.name} → ${b.name}`, body);
}

/** `/compare/samples?a=&b=&job=`: the samples of one job whose score changed between the two runs. */
export async function changedPage(ctx: ViewerContext, params: URLSearchParams): Promise<string> {
  const { a, b, pairs } = await loadPair(ctx, params);
  const pair = pairs.find(([j]) => j.jobId === params.get('job'));
  if (!pair) throw new BadRequest(`job: "${params.get('job') ?? ''}" is not a job of both assignments`);
  const digests = await pairRows(ctx, pair[0], pair[1]);
  if (!digests.ready) return preparing(digests.read, digests.total);
  const pageNo = Math.max(1, Math.min(1_000_000, Math.floor(Number(params.get('page') ?? '1')) || 1));
  const p = pageOf(comparison(digests.a, digests.b).changed, pageNo, 50);
  const indexes = p.items.map((c) => c.index);
  const [rowsA, rowsB] = await Promise.all([loadRows(ctx.store, pair[0], indexes, digests.a), loadRows(ctx.store, pair[1], indexes, digests.b)]);
  const baseA = `/assignments/${seg(a._id)}/jobs/${seg(pair[0].jobId)}/samples`;
  const baseB = `/assignments/${seg(b._id)}/jobs/${seg(pair[1].jobId)}/samples`;
  const score = (x: number | null): string => (x === null ? 'no score' : String(Math.round(x * 1000) / 1000));
  const rows = p.items.map((c, i) => [
    html`${c.index}`, link(`${baseA}/${c.index}`, score(c.before)), link(`${baseB}/${c.index}`, score(c.after)),
    pre((rowsA[i]?.result?.input ?? rowsB[i]?.result?.input ?? '').slice(0, 300)),
  ]);
  const at = (n: number): string => href('/compare/samples', { a: a._id, b: b._id, job: pair[0].jobId, page: n });
  const body = html`<h1>Changed samples of ${pair[0].jobId}</h1>
<p>${link(href('/compare', { a: a._id, b: b._id }), `${a.name} → ${b.name}`)} · <span id="count">${num(p.total)} changed</span> · page ${p.page} of ${p.pages}
${p.page > 1 ? link(at(p.page - 1), '← previous') : ''} ${p.page < p.pages ? link(at(p.page + 1), 'next →') : ''}</p>
${table(['index', 'A score', 'B score', 'input'], rows, { id: 'changed' })}`;
  return page(`Changed samples · ${pair[0].jobId}`, body);
}

/** `/leaderboards`: per task, each model's latest completed score with its 95% CI, best first. */
export async function leaderboardsPage(ctx: ViewerContext): Promise<string> {
  const boards = await readLeaderboards(ctx.store);
  const parts = boards.map((board) => html`<h2>${board.taskId}</h2>${table(['rank', 'model', 'score [95% CI]', 'n', 'assignment', 'ended'], board.entries.map((e) => [
    html`${e.rank}`, html`${e.modelId}`, link(`/assignments/${seg(e.assignmentId)}/jobs/${seg(e.jobId)}`, scoreCi(e.score)), html`${num(e.score.n)}`,
    link(`/assignments/${seg(e.assignmentId)}`, e.assignmentId), html`${when(e.endedAt)}`,
  ]), { className: 'grid leaderboard' })}`);
  const body = html`<h1>Leaderboards</h1>${boards.length === 0 ? html`<p class="notice">No leaderboards yet: they are built when an assignment ends.</p>` : parts}`;
  return page('Leaderboards', body);
}
