import type { MetricSummary } from '../store/documents';
import { html, type Html, type HtmlValue } from './html';

/** The page frame, the stylesheet and the number formats every page shares. */

/** Served at /static/viewer.css; no script is served at all (the pages work without JavaScript). */
export const STYLESHEET = `
:root { --fg: #1d2330; --muted: #5f6b7a; --line: #d9dee5; --bg: #fff; --alt: #f5f7fa; --ok: #1a7f37; --bad: #c62828; --warn: #9a6700; --accent: #2456c5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 18px; align-items: center; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--alt); }
header .brand { font-weight: 700; }
header a { color: var(--fg); text-decoration: none; }
main { padding: 16px 20px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 12px; } h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); }
table.grid { border-collapse: collapse; margin: 6px 0 12px; }
table.grid th, table.grid td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
table.grid th { background: var(--alt); font-weight: 600; }
table.grid td.num, .num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); } .ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.status { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; border: 1px solid var(--line); }
.status.completed, .status.succeeded { color: var(--ok); } .status.failed { color: var(--bad); }
.status.running, .status.pending, .status.paused, .status.reused { color: var(--warn); }
pre.text { white-space: pre-wrap; word-break: break-word; background: var(--alt); border: 1px solid var(--line); padding: 8px; margin: 4px 0 10px; max-height: 480px; overflow: auto; }
td pre.text { max-height: 120px; margin: 0; padding: 4px; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin: 8px 0; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.filters input[type=text], form.filters input[type=number] { width: 140px; }
.pager { display: flex; gap: 14px; margin: 8px 0; }
progress { width: 140px; vertical-align: middle; }
.msg { border: 1px solid var(--line); margin: 6px 0; } .msg .role { background: var(--alt); padding: 2px 8px; font-size: 12px; color: var(--muted); }
.msg pre.text { border: 0; margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.notice { border: 1px solid var(--line); background: var(--alt); padding: 8px 12px; }
`;

/** Options of the page frame. */
export interface PageOptions {
  /** Reload the page after this many seconds (live progress while something runs). */
  refreshSeconds?: number;
}

/** A whole HTML document: the navigation, the title, the body. */
export function page(title: string, body: HtmlValue, opts: PageOptions = {}): string {
  const refresh = opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : '';
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · evalctl</title><link rel="stylesheet" href="/static/viewer.css">${refresh}</head>
<body><header><a class="brand" href="/">evalctl</a><a href="/">Assignments</a><a href="/leaderboards">Leaderboards</a><a href="/compare">Compare</a></header>
<main>${body}</main></body></html>`.markup;
}

/** A status as a small badge. */
export function statusBadge(status: string): Html {
  return html`<span class="status ${status}">${status}</span>`;
}

/** A number with thousands separators; '-' for none. */
export function num(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A score with its 95% interval, as `0.812 [0.774, 0.846]`. */
export function scoreCi(s: MetricSummary | null | undefined): string {
  if (!s || s.n === 0) return '-';
  return `${s.mean.toFixed(3)} [${s.ci95[0].toFixed(3)}, ${s.ci95[1].toFixed(3)}]`;
}

/** A cost in dollars with enough digits for small sums. */
export function money(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;
}

/** Milliseconds, rounded. */
export function ms(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${Math.round(x)} ms`;
}

/** A date as an ISO string without milliseconds. */
export function when(d: Date | string | null | undefined): string {
  if (!d) return '-';
  const date = typeof d === 'string' ? new Date(d) : d;
  return Number.isNaN(date.getTime()) ? '-' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A progress bar of done out of total (an element, not inline styles: the pages' CSP allows none). */
export function progressBar(done: number, total: number): Html {
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return html`<progress max="${Math.max(total, 1)}" value="${Math.min(done, Math.max(total, 1))}" title="${done} of ${total}"></progress> ${pct}%`;
}
