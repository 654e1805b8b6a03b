import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Binary } from 'mongodb';
import type { DigestDoc, JobDigestRow, JobDoc } from './documents';
import type { Store } from './store';

/**
 * Stored digests of finished jobs: every sample's index, status, score, passed flag, latency and key, in
 * parts of DIGEST_PART_ROWS rows, and every sample's searchable text, in parts of TEXT_PART_BYTES.
 * FerretDB (1.24, SQLite) answers only `{_id: value}` from an index and scans the whole collection for
 * `{assignmentId, jobId}`, so a 100,000-sample job's records took about a minute to read; its stored
 * digest is a few dozen `_id` lookups. Parts are lines of text, deflated: FerretDB's cost of reading a
 * document grows with its bytes (a string's JSON is decoded and re-encoded), and a deflated part is a
 * fifth to a tenth of them.
 */

/** Lines as a part stores them: deflated at level 1 (fast; most of the gain of higher levels). */
export function packLines(lines: string): Binary {
  return new Binary(deflateRawSync(lines, { level: 1 }));
}

/** The lines of a stored part: deflated (`packed`), or a plain string (parts written before packing). */
export function unpackLines(doc: Pick<DigestDoc, 'lines' | 'packed'>): string {
  return doc.packed ? inflateRawSync(doc.packed.value()).toString('utf8') : doc.lines ?? '';
}

/** Rows per stored part: about 100 bytes each as a line, so a part stays well under MongoDB's 16 MB limit. */
export const DIGEST_PART_ROWS = 10_000;

/** Rows as tab-separated lines: index, status, score, passed (1/0), latency, sample key; empty for null. */
export function encodeDigestRows(rows: readonly JobDigestRow[]): string {
  const cell = (v: number | null): string => (v === null ? '' : String(v));
  return rows.map((r) => [r.index, r.status, cell(r.score), r.passed === null ? '' : r.passed ? '1' : '0', cell(r.latencyMs), r.sampleKey].join('\t')).join('\n');
}

/**
 * The rows encodeDigestRows wrote. The lines are cut at their tabs by `indexOf` rather than split into
 * arrays: half the time for the 100,000 rows a first visit to a filtered page waits for.
 */
export function decodeDigestRows(lines: string): JobDigestRow[] {
  const rows: JobDigestRow[] = [];
  const num = (from: number, to: number): number | null => (to === from ? null : Number(lines.slice(from, to)));
  for (let at = 0; at < lines.length;) {
    let end = lines.indexOf('\n', at);
    if (end < 0) end = lines.length;
    const t1 = lines.indexOf('\t', at);
    const t2 = lines.indexOf('\t', t1 + 1);
    const t3 = lines.indexOf('\t', t2 + 1);
    const t4 = lines.indexOf('\t', t3 + 1);
    const t5 = lines.indexOf('\t', t4 + 1);
    rows.push({
      index: Number(lines.slice(at, t1)), status: lines.slice(t1 + 1, t2) as JobDigestRow['status'], score: num(t2 + 1, t3),
      passed: t4 === t3 + 1 ? null : lines.charCodeAt(t3 + 1) === 49 /* '1' */, latencyMs: num(t4 + 1, t5), sampleKey: lines.slice(t5 + 1, end),
    });
    at = end + 1;
  }
  return rows;
}

/** The `_id` of one part of a job's stored digest. */
export function digestPartId(job: Pick<JobDoc, 'assignmentId' | 'jobId'>, part: number): string {
  return `${job.assignmentId}/${job.jobId}/${part}`;
}

/**
 * Writes a job's digest (rows in index order), stamped with the `updatedAt` the job is about to get, part
 * by part as idempotent replacements; a reader takes it only when every part carries the same stamp.
 */
export async function writeJobDigest(store: Store, job: Pick<JobDoc, 'assignmentId' | 'jobId'>, rows: readonly JobDigestRow[], version: Date): Promise<void> {
  const parts = Math.max(1, Math.ceil(rows.length / DIGEST_PART_ROWS));
  for (let part = 0; part < parts; part++) {
    const _id = digestPartId(job, part);
    const slice = rows.slice(part * DIGEST_PART_ROWS, (part + 1) * DIGEST_PART_ROWS);
    await store.digests.replaceOne(
      { _id },
      { assignmentId: job.assignmentId, jobId: job.jobId, part, parts, total: rows.length, version: version.getTime(), packed: packLines(encodeDigestRows(slice)) },
      { upsert: true },
    );
  }
}

/**
 * A finished job's stored digest if it was written for the job as it is now (same `updatedAt`), else
 * undefined (the caller reads the sample records instead). Parts are read by `_id`, the first, then the
 * others (nine more for 100,000 samples) together.
 */
export async function readJobDigest(store: Store, job: Pick<JobDoc, 'assignmentId' | 'jobId' | 'updatedAt'>): Promise<JobDigestRow[] | undefined> {
  const version = job.updatedAt.getTime();
  const first = await store.digests.findOne({ _id: digestPartId(job, 0) });
  if (!first || first.version !== version) return undefined;
  const rows = decodeDigestRows(unpackLines(first));
  for (let part = 1; part < first.parts; part += 16) {
    const ids = Array.from({ length: Math.min(16, first.parts - part) }, (_, i) => digestPartId(job, part + i));
    const docs = await Promise.all(ids.map((_id) => store.digests.findOne({ _id })));
    for (const doc of docs) {
      if (!doc || doc.version !== version) return undefined;
      for (const row of decodeDigestRows(unpackLines(doc))) rows.push(row);
    }
  }
  return rows.length === first.total ? rows : undefined;
}

/**
 * Bytes of lines per stored part of a text digest (before deflating): a 100,000-sample job whose texts are
 * all at their bound (src/store/search-text.ts) takes about 30 parts, each far under MongoDB's 16 MB
 * document limit even if its text did not deflate at all.
 */
export const TEXT_PART_BYTES = 4 * 1024 * 1024;

/** The `_id` of one part of a job's stored text digest (a row digest's parts end in a number, these in `t<n>`). */
export function textPartId(job: Pick<JobDoc, 'assignmentId' | 'jobId'>, part: number): string {
  return `${job.assignmentId}/${job.jobId}/t${part}`;
}

/**
 * Writes a job's text digest (sample index and searchable text per line) while finalisation reads the
 * job's sample records: parts 1, 2, ... as they fill, part 0 last with what is left and the number of
 * parts, so a reader that finds part 0 with the job's stamp finds every other part written. Memory stays
 * one part.
 */
export class TextDigestWriter {
  private lines: string[] = [];
  private bytes = 0;
  private parts = 1;
  private total = 0;

  constructor(private readonly store: Store, private readonly job: Pick<JobDoc, 'assignmentId' | 'jobId'>, private readonly version: Date) {}

  /** Adds one sample's text (searchTextOf: no newline in it); writes a part when it is full. */
  async add(index: number, text: string): Promise<void> {
    const line = `${index}\t${/[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text}`;
    const size = Buffer.byteLength(line) + 1;
    if (this.bytes + size > TEXT_PART_BYTES && this.lines.length > 0) await this.write(this.parts++);
    this.lines.push(line);
    this.bytes += size;
    this.total += 1;
  }

  /** Writes part 0: the last lines, the number of parts and of lines. */
  async finish(): Promise<void> {
    await this.write(0);
  }

  private async write(part: number): Promise<void> {
    const _id = textPartId(this.job, part);
    const lines = this.lines.join('\n');
    this.lines = [];
    this.bytes = 0;
    await this.store.digests.replaceOne(
      { _id },
      { assignmentId: this.job.assignmentId, jobId: this.job.jobId, kind: 'text', part, parts: this.parts, total: this.total, version: this.version.getTime(), packed: packLines(lines) },
      { upsert: true },
    );
  }
}

/**
 * A finished job's stored text digest, as the strings of its parts (lines `<index>\t<text>`), if it was
 * written for the job as it is now; else undefined (the caller reads the results instead). The parts are
 * read by `_id`, four at a time (FerretDB decodes them in parallel).
 */
export async function readJobTexts(store: Store, job: Pick<JobDoc, 'assignmentId' | 'jobId' | 'updatedAt'>): Promise<string[] | undefined> {
  const version = job.updatedAt.getTime();
  const first = await store.digests.findOne({ _id: textPartId(job, 0) });
  if (!first || first.version !== version) return undefined;
  const parts = [unpackLines(first)];
  for (let part = 1; part < first.parts; part += 4) {
    const ids = Array.from({ length: Math.min(4, first.parts - part) }, (_, i) => textPartId(job, part + i));
    const docs = await Promise.all(ids.map((_id) => store.digests.findOne({ _id })));
    for (const doc of docs) {
      if (!doc || doc.version !== version) return undefined;
      parts.push(unpackLines(doc));
    }
  }
  const lines = parts.reduce((n, text) => n + countLines(text), 0);
  return lines === first.total ? parts.filter((text) => text !== '') : undefined;
}

function countLines(text: string): number {
  if (text === '') return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}
