import { z } from 'zod';
import type { JobDigestRow } from '../store/documents';
import { percentile } from '../metrics';
import { squashText } from '../store/search-text';
import type { JobTexts } from './text-digest';

/**
 * A job's samples as the viewer filters and sorts them: one small row per sample, held in memory. FerretDB
 * answers only `{_id: value}` from an index and scans the collection for any other filter or sort, so the
 * viewer reads a job's sample records once (one scan, like finalisation does) and pages over that digest;
 * the rows of a page are then read by `_id`. No query ever skips: a deep page costs what the first does.
 */

/** One sample of a job in the digest (as finalisation stores it for finished jobs, src/store/digests.ts). */
export type DigestRow = JobDigestRow;

/**
 * Rows per page unless asked: each row is one `_id` lookup of its result (and of its sample record when
 * the job's digest is not held), so a page's cost grows with its size, never with its depth.
 */
export const DEFAULT_PAGE_SIZE = 50;

/** The filters, sort and page of a job's sample list, parsed from the query string. */
export const SampleQuerySchema = z.object({
  show: z.enum(['all', 'failed', 'wrong', 'reused', 'correct']).default('all').describe('Which samples: every one, failed (no result), wrong (scored, not passed), reused or correct.'),
  min: z.coerce.number().finite().optional().describe('Lowest score shown (inclusive); samples without a score are left out when set.'),
  max: z.coerce.number().finite().optional().describe('Highest score shown (inclusive); samples without a score are left out when set.'),
  q: z.string().trim().max(200).optional().describe('Text searched in the input and the prediction (their beginnings and ends, see searchTextOf), ignoring case and runs of whitespace.'),
  sort: z.enum(['index', 'score', 'latency']).default('index').describe('Sort key; ties are ordered by sample index.'),
  dir: z.enum(['asc', 'desc']).default('asc').describe('Sort direction.'),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).describe('Page number, from 1.'),
  size: z.coerce.number().int().min(1).max(500).default(DEFAULT_PAGE_SIZE).describe('Rows per page.'),
});

/** A parsed sample query. */
export type SampleQuery = z.infer<typeof SampleQuerySchema>;

/** Parses query-string parameters (empty values count as absent); a bad value throws a zod error naming it. */
export function parseSampleQuery(params: URLSearchParams): SampleQuery {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (v.trim() !== '') raw[k] = v;
  return SampleQuerySchema.parse(raw);
}

/** Whether a query needs the digest (any filter or a sort other than by index); else pages are plain `_id` ranges. */
export function needsDigest(q: SampleQuery): boolean {
  return q.show !== 'all' || q.min !== undefined || q.max !== undefined || !!q.q || q.sort !== 'index';
}

/** A scored sample that did not pass: passed false, or score 0 when the scorer says nothing about passing. */
export function isWrong(r: Pick<DigestRow, 'score' | 'passed' | 'status'>): boolean {
  if (r.status === 'failed' || r.status === 'canceled' || r.score === null) return false;
  return r.passed === false || (r.passed === null && r.score === 0);
}

/** The predicate of a query's filters over digest rows; `texts` are the job's searchable texts (a text search without them matches nothing). */
export function rowFilter(q: SampleQuery, texts?: JobTexts): (r: DigestRow) => boolean {
  const needle = q.q ? squashText(q.q) : '';
  const hasText = needle && texts ? texts.matcher(needle) : () => !needle;
  return (r) => {
    if (q.show === 'failed' && r.status !== 'failed') return false;
    if (q.show === 'reused' && r.status !== 'reused') return false;
    if (q.show === 'wrong' && !isWrong(r)) return false;
    if (q.show === 'correct' && !(r.score !== null && !isWrong(r) && r.status !== 'failed')) return false;
    if (q.min !== undefined && (r.score === null || r.score < q.min)) return false;
    if (q.max !== undefined && (r.score === null || r.score > q.max)) return false;
    if (!hasText(r)) return false;
    return true;
  };
}

/** Orders rows by the query's sort key; rows without a value go last in both directions, ties by index. */
export function sortRows(rows: readonly DigestRow[], q: Pick<SampleQuery, 'sort' | 'dir'>): DigestRow[] {
  const key = (r: DigestRow): number | null => (q.sort === 'score' ? r.score : q.sort === 'latency' ? r.latencyMs : r.index);
  const sign = q.dir === 'desc' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null || kb === null) return ka === kb ? a.index - b.index : ka === null ? 1 : -1;
    return sign * (ka - kb) || a.index - b.index;
  });
}

/** One page of a list: its items, the total, and whether pages follow. */
export interface PageOf<T> {
  items: T[];
  total: number;
  page: number;
  pages: number;
}

/** Cuts one page from a list; a page past the end is empty (and says how many pages there are). */
export function pageOf<T>(all: readonly T[], page: number, size: number): PageOf<T> {
  const pages = Math.max(1, Math.ceil(all.length / size));
  return { items: all.slice((page - 1) * size, page * size), total: all.length, page, pages };
}

/**
 * The sample indexes of a page when the list is unfiltered and sorted by index: computed, not queried,
 * since sample records are keyed `<assignment>/<job>/<index>` and indexes run from 0 to total - 1.
 */
export function indexPage(total: number, q: Pick<SampleQuery, 'dir' | 'page' | 'size'>): PageOf<number> {
  const pages = Math.max(1, Math.ceil(total / q.size));
  const start = (q.page - 1) * q.size;
  const items: number[] = [];
  for (let i = start; i < Math.min(total, start + q.size); i++) items.push(q.dir === 'desc' ? total - 1 - i : i);
  return { items, total, page: q.page, pages };
}

/** Latency percentiles of a job's samples (those with a latency). */
export function latencyPercentiles(rows: readonly DigestRow[]): { p50: number; p90: number; p95: number; p99: number } | null {
  const values = rows.map((r) => r.latencyMs).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}
