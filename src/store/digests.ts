import type { JobDigestRow, JobDoc } from './documents';
import type { Store } from './store';

/**
 * Stored digests of finished jobs: every sample's index, status, score, passed flag, latency and key, in
 * parts of DIGEST_PART_ROWS rows. FerretDB (1.24, SQLite) answers only `{_id: value}` from an index and
 * scans the whole collection for `{assignmentId, jobId}`, so a 100,000-sample job's records took about a
 * minute to read; its stored digest is a few dozen `_id` lookups.
 */

/** Rows per stored part: about 100 bytes each as a line, so a part stays well under MongoDB's 16 MB limit. */
export const DIGEST_PART_ROWS = 10_000;

/** Rows as tab-separated lines: index, status, score, passed (1/0), latency, sample key; empty for null. */
export function encodeDigestRows(rows: readonly JobDigestRow[]): string {
  const cell = (v: number | null): string => (v === null ? '' : String(v));
  return rows.map((r) => [r.index, r.status, cell(r.score), r.passed === null ? '' : r.passed ? '1' : '0', cell(r.latencyMs), r.sampleKey].join('\t')).join('\n');
}

/** The rows encodeDigestRows wrote. */
export function decodeDigestRows(lines: string): JobDigestRow[] {
  if (lines === '') return [];
  const num = (v: string): number | null => (v === '' ? null : Number(v));
  return lines.split('\n').map((line) => {
    const [index, status, score, passed, latency, sampleKey] = line.split('\t');
    return { index: Number(index), status: status as JobDigestRow['status'], score: num(score), passed: passed === '' ? null : passed === '1', latencyMs: num(latency), sampleKey };
  });
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
      { assignmentId: job.assignmentId, jobId: job.jobId, part, parts, total: rows.length, version: version.getTime(), lines: encodeDigestRows(slice) },
      { upsert: true },
    );
  }
}

/**
 * A finished job's stored digest if it was written for the job as it is now (same `updatedAt`), else
 * undefined (the caller reads the sample records instead). Parts are read by `_id`, a few at a time.
 */
export async function readJobDigest(store: Store, job: Pick<JobDoc, 'assignmentId' | 'jobId' | 'updatedAt'>): Promise<JobDigestRow[] | undefined> {
  const version = job.updatedAt.getTime();
  const first = await store.digests.findOne({ _id: digestPartId(job, 0) });
  if (!first || first.version !== version) return undefined;
  const rows = decodeDigestRows(first.lines);
  for (let part = 1; part < first.parts; part += 8) {
    const ids = Array.from({ length: Math.min(8, first.parts - part) }, (_, i) => digestPartId(job, part + i));
    const docs = await Promise.all(ids.map((_id) => store.digests.findOne({ _id })));
    for (const doc of docs) {
      if (!doc || doc.version !== version) return undefined;
      for (const row of decodeDigestRows(doc.lines)) rows.push(row);
    }
  }
  return rows.length === first.total ? rows : undefined;
}
