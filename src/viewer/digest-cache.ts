import type { Store } from '../store/store';
import type { JobDoc, SampleDoc } from '../store/documents';
import { isTerminal } from '../contracts';
import type { DigestRow } from './digest';
import { readJobDigest, readJobTexts } from '../store/digests';
import { searchTextOf } from '../store/search-text';
import { JobTexts } from './text-digest';

/**
 * Builds job digests in the background and keeps the most recent ones. A page that needs a digest waits
 * for it a little; if it is not ready by then the page says how far the build got and reloads itself, so
 * no request blocks for the length of a scan. Digests of running jobs are rebuilt when the job changes.
 */

/** What a page gets: the digest, or how far its build is. */
export type Digested<T> = { ready: true; value: T; stale: boolean } | { ready: false; read: number; total: number };

interface Entry<T> {
  version: string;
  value?: T;
  valueVersion?: string;
  building?: Promise<void>;
  read: number;
  startedAt: number;
  /** How long the last build took: a running job's digest is rebuilt no more often than a few times that. */
  lastBuildMs: number;
  usedAt: number;
}

/** Options of the cache; the defaults fit a laptop and 100,000-sample jobs. */
export interface DigestCacheOptions {
  /** Digests kept per kind (least recently used go first). */
  maxJobs?: number;
  /** How long a request waits for a build before answering with its progress. */
  waitMs?: number;
  /** A running job's digest is rebuilt at most this often (and at most every 4 build times). */
  refreshMs?: number;
}

/** What a digest was built from: a job changes its `updatedAt` whenever its counts move. */
function versionOf(job: JobDoc): string {
  return `${isTerminal(job.status) ? 'done' : 'live'}:${job.updatedAt.getTime()}`;
}

/** One kind of digest (sample rows, or searchable text) per job, built by `build`. */
class Cache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly build: (job: JobDoc, progress: (read: number) => void) => Promise<T>,
    private readonly opts: Required<DigestCacheOptions>,
  ) {}

  async get(job: JobDoc): Promise<Digested<T>> {
    const key = job._id;
    const version = versionOf(job);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { version, read: 0, startedAt: 0, lastBuildMs: 0, usedAt: Date.now() };
      this.entries.set(key, entry);
      this.evict();
    }
    entry.usedAt = Date.now();
    const changed = entry.valueVersion !== version;
    // On FerretDB a build scans the whole collection: a digest that takes 20 s to read is read again at most
    // every 80 s, so a page left open on a running job does not keep the server busy.
    const due = Date.now() - entry.startedAt >= Math.max(this.opts.refreshMs, 4 * entry.lastBuildMs);
    if (!entry.building && (entry.value === undefined || (changed && due))) this.start(entry, job, version);
    if (entry.value === undefined && entry.building) {
      await Promise.race([entry.building, new Promise((r) => setTimeout(r, this.opts.waitMs).unref())]);
    }
    if (entry.value !== undefined) return { ready: true, value: entry.value, stale: entry.valueVersion !== version };
    return { ready: false, read: entry.read, total: job.counts.total };
  }

  /** The digest of a job if one for its current version is held, without starting a build. */
  peek(job: JobDoc): T | undefined {
    const entry = this.entries.get(job._id);
    return entry?.value !== undefined && entry.valueVersion === versionOf(job) ? entry.value : undefined;
  }

  private start(entry: Entry<T>, job: JobDoc, version: string): void {
    entry.version = version;
    entry.startedAt = Date.now();
    entry.read = 0;
    entry.building = this.build(job, (n) => (entry.read = n))
      .then((value) => {
        entry.lastBuildMs = Date.now() - entry.startedAt;
        entry.value = value;
        entry.valueVersion = version;
      })
      // A failed build is retried by the next request; the page shows the progress meanwhile.
      .catch(() => undefined)
      .finally(() => (entry.building = undefined));
  }

  private evict(): void {
    while (this.entries.size > this.opts.maxJobs) {
      const oldest = [...this.entries.entries()].filter(([, e]) => !e.building).sort((a, b) => a[1].usedAt - b[1].usedAt)[0];
      if (!oldest) return;
      this.entries.delete(oldest[0]);
    }
  }
}

/** The digests of the viewer: sample rows per job, and the searchable text (searchTextOf) of its samples. */
export class DigestCache {
  private readonly rows: Cache<DigestRow[]>;
  private readonly texts: Cache<JobTexts>;

  constructor(store: Store, options: DigestCacheOptions = {}) {
    const opts = { maxJobs: 8, waitMs: 600, refreshMs: 3000, ...options };
    this.rows = new Cache((job, progress) => readRows(store, job, progress), opts);
    this.texts = new Cache((job, progress) => readTexts(store, job, progress), { ...opts, maxJobs: Math.max(1, Math.floor(opts.maxJobs / 4)) });
  }

  /** The sample rows of a job, ordered by index. */
  rowsOf(job: JobDoc): Promise<Digested<DigestRow[]>> {
    return this.rows.get(job);
  }

  /** The sample rows of a job when they are held and current; never starts a build. */
  peekRows(job: JobDoc): DigestRow[] | undefined {
    return this.rows.peek(job);
  }

  /** The searchable texts of a job's samples. */
  textsOf(job: JobDoc): Promise<Digested<JobTexts>> {
    return this.texts.get(job);
  }
}

/** A job's rows: the digest finalisation stored for a finished job, else (running, older) its sample records. */
async function readRows(store: Store, job: JobDoc, progress: (read: number) => void): Promise<DigestRow[]> {
  if (isTerminal(job.status)) {
    const stored = await readJobDigest(store, job);
    if (stored) return stored;
  }
  const cursor = store.samples.find(
    { assignmentId: job.assignmentId, jobId: job.jobId },
    { projection: { index: 1, status: 1, score: 1, passed: 1, sampleKey: 1, figures: 1 }, batchSize: 2000 },
  );
  const rows: DigestRow[] = [];
  for await (const s of cursor as AsyncIterable<SampleDoc>) {
    rows.push({
      index: s.index, status: s.status, sampleKey: s.sampleKey,
      score: typeof s.score === 'number' ? s.score : null,
      passed: typeof s.passed === 'boolean' ? s.passed : null,
      latencyMs: typeof s.figures?.latencyMs === 'number' ? s.figures.latencyMs : null,
    });
    if (rows.length % 1000 === 0) progress(rows.length);
  }
  return rows.sort((a, b) => a.index - b.index);
}

/**
 * A job's searchable texts (searchTextOf): the text digest finalisation stored for a finished job, else
 * (running, older) those of the results that list the assignment.
 */
async function readTexts(store: Store, job: JobDoc, progress: (read: number) => void): Promise<JobTexts> {
  if (isTerminal(job.status)) {
    const stored = await readJobTexts(store, job);
    if (stored) return new JobTexts('index', stored);
  }
  const cursor = store.results.find(
    // Not by model and task: a reused result keeps the ids of the assignment that first stored it.
    { assignments: job.assignmentId },
    { projection: { input: 1, prediction: 1 }, batchSize: 1000 },
  );
  const texts: Array<[string, string]> = [];
  for await (const r of cursor) {
    texts.push([r._id, searchTextOf(r.input, r.prediction)]);
    if (texts.length % 1000 === 0) progress(texts.length);
  }
  return JobTexts.ofSampleKeys(texts);
}
