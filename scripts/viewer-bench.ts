/**
 * `npm run viewer-bench`: how fast the results viewer answers over two assignments of 100,000 samples
 * each, in FerretDB as the test harness starts it (only `{_id: value}` comes from an index there; every
 * other filter scans). Inserts the sample records, results, jobs and events directly, starts the viewer
 * in this process and times every page: its first visit (a job's digest not read yet: read within the
 * page's wait, or the page answers with its progress), the digest read when it had to wait for it, and
 * warm; last, a text search on a fresh viewer, which reads a job's rows and texts side by side.
 *
 * Finished jobs' digests (rows and searchable texts) are stored as finalisation stores them; `--scan` leaves
 * them out, so the viewer reads the sample records and results instead (what it does for running jobs).
 *
 *   npm run viewer-bench -- [--samples 100000] [--keep] [--scan]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMongo, stopMongo } from '../src/dev/stack';
import { openStore, type Store } from '../src/store/store';
import type { JobDigestRow, JobDoc, ResultDoc, SampleDoc } from '../src/store/documents';
import { TextDigestWriter, writeJobDigest } from '../src/store/digests';
import { searchTextOf } from '../src/store/search-text';
import { startViewer } from '../src/viewer/server';

const log = (line: string): void => void process.stderr.write(`viewer-bench: ${line}\n`);
const JOB = 'model0/task0';

function score(assignment: string, i: number): number | null {
  if (i % 97 === 0) return null;
  const flip = assignment === 'bench-b' && i % 10 === 3;
  const correct = i % 3 !== 0;
  return (flip ? !correct : correct) ? 1 : 0;
}

async function insertAssignment(store: Store, id: string, n: number, createdAt: Date, storedDigest: boolean): Promise<void> {
  const now = new Date();
  const config = { name: id, models: [{ id: 'model0', provider: { kind: 'openai', model: 'x', apiKey: '${OPENAI_API_KEY}' } }], tasks: [{ id: 'task0', prompt: 'Q: {{question}}' }] };
  await store.assignments.insertOne({
    _id: id, name: id, config, mode: 'all', workflowId: `evalctl/${id}`, status: 'completed', paused: false, cancelRequested: false,
    counts: { total: n, succeeded: n - Math.ceil(n / 97), failed: Math.ceil(n / 97), reused: 0, canceled: 0, running: 0 }, createdAt, startedAt: createdAt, endedAt: now, updatedAt: now,
  });
  const job: JobDoc = {
    _id: `${id}/${JOB}`, assignmentId: id, jobId: JOB, modelId: 'model0', taskId: 'task0', workflowId: `evalctl/${id}/job/model0/task0`, status: 'completed',
    counts: { total: n, succeeded: n - Math.ceil(n / 97), failed: Math.ceil(n / 97), reused: 0, canceled: 0, running: 0 },
    metrics: { score: { n: n - Math.ceil(n / 97), mean: 0.66, ci95: [0.657, 0.663], method: 'wilson' }, latencyMs: { p50: 250, p95: 475 }, tokens: { input: 20 * n, output: 5 * n }, cost: 0.0001 * n },
    updatedAt: now,
  };
  await store.jobs.insertOne(job);
  const rows: JobDigestRow[] = [];
  // What finalisation stores for a finished job (src/store/digests.ts); --scan leaves it out.
  const texts = storedDigest ? new TextDigestWriter(store, job, now) : undefined;
  for (let start = 0; start < n; start += 1000) {
    const samples: SampleDoc[] = [];
    const results: ResultDoc[] = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const key = `${id}-${i.toString(16).padStart(10, '0')}`;
      const s = score(id, i);
      samples.push({
        _id: `${id}/${JOB}/${i}`, assignmentId: id, jobId: JOB, modelId: 'model0', taskId: 'task0', index: i, sampleKey: key,
        status: s === null ? 'failed' : 'succeeded', score: s, passed: s === null ? null : s === 1,
        figures: { latencyMs: (i * 7919) % 500, inputTokens: 20, outputTokens: 5, cost: 0.0001 }, updatedAt: now,
      });
      const input = `Q: question number ${i}: what is ${i} plus ${i}? Some padding so the prompt is the size of an average benchmark prompt.`;
      const prediction = s === null ? null : String(2 * i + (s === 1 ? 0 : 1));
      samples[samples.length - 1].text = searchTextOf(input, prediction);
      results.push({
        _id: key, inferenceKey: `i-${key}`, status: s === null ? 'failed' : 'succeeded', modelId: 'model0', taskId: 'task0', sampleId: `s${i}`, sampleIndex: i,
        input, prediction, target: String(2 * i), score: s === null ? null : { value: s, passed: s === 1 },
        error: s === null ? 'simulated permanent failure' : null, attempts: 1, latencyMs: (i * 7919) % 500, usage: { inputTokens: 20, outputTokens: 5 }, cost: 0.0001,
        worker: 'bench@host', finishedAt: now, assignments: [id], updatedAt: now,
      });
    }
    for (const d of samples) {
      rows.push({ index: d.index, status: d.status, sampleKey: d.sampleKey, score: d.score ?? null, passed: d.passed ?? null, latencyMs: d.figures?.latencyMs ?? null });
      await texts?.add(d.index, d.text ?? '');
    }
    await store.samples.insertMany(samples, { ordered: false });
    await store.results.insertMany(results, { ordered: false });
    if (start % 20_000 === 0) log(`${id}: ${start + samples.length} of ${n} inserted`);
  }
  await texts?.finish();
  if (storedDigest) await writeJobDigest(store, job, rows, now);
  await store.events.insertMany(['started', 'completed'].map((type, k) => ({ _id: `${id}/${type}`, assignmentId: id, type, at: new Date(createdAt.getTime() + k * 1000) })));
}

interface Timing {
  page: string;
  ms: number;
  note: string;
}

async function timeGet(base: string, path: string): Promise<{ ms: number; body: string; status: number }> {
  const started = performance.now();
  const res = await fetch(new URL(path, base));
  const body = await res.text();
  return { ms: performance.now() - started, body, status: res.status };
}

/** Times a page: cold (may answer with a digest's progress), then until it is ready, then warm. */
async function measure(base: string, label: string, path: string, out: Timing[]): Promise<void> {
  const cold = await timeGet(base, path);
  if (cold.status !== 200) throw new Error(`${path} answered ${cold.status}: ${cold.body.slice(0, 300)}`);
  const preparing = cold.body.includes('id="preparing"');
  out.push({ page: label, ms: cold.ms, note: preparing ? 'cold: answered with the digest progress' : 'cold' });
  if (preparing) {
    const started = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const again = await timeGet(base, path);
      if (!again.body.includes('id="preparing"')) break;
    }
    out.push({ page: label, ms: performance.now() - started, note: 'digest read (in the background: stored parts by _id, or a scan)' });
  }
  const warm = [];
  for (let k = 0; k < 3; k++) warm.push((await timeGet(base, path)).ms);
  out.push({ page: label, ms: Math.max(...warm), note: 'warm (slowest of 3)' });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '100000' }, keep: { type: 'boolean', default: false }, scan: { type: 'boolean', default: false } } });
  const n = Number(values.samples);
  const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-viewer-bench-'));
  const { state } = await startMongo({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'viewer_bench' });
  const store = await openStore(state.url);
  try {
    const t0 = performance.now();
    await insertAssignment(store, 'bench-a', n, new Date(Date.now() - 3_600_000), !values.scan);
    await insertAssignment(store, 'bench-b', n, new Date(), !values.scan);
    log(`inserted ${2 * n} sample records and results in ${Math.round((performance.now() - t0) / 1000)} s`);
    const viewer = await startViewer(store, { host: '127.0.0.1', port: 0, uiBase: 'http://127.0.0.1:8233', namespace: 'default' });
    const timings: Timing[] = [];
    const job = `/assignments/bench-a/jobs/${encodeURIComponent(JOB)}`;
    const last = Math.ceil(n / 50);
    const pages: Array<[string, string]> = [
      ['assignments', '/'], ['search', '/?q=task0'], ['assignment', '/assignments/bench-a'], ['samples page 1', job],
      [`samples page ${last} (last)`, `${job}?page=${last}`], ['samples descending', `${job}?dir=desc&page=1000`],
      ['failed only', `${job}?show=failed`], ['wrong only, page 300', `${job}?show=wrong&page=${Math.max(1, Math.floor(n / 330))}`], ['sorted by score, descending', `${job}?sort=score&dir=desc&page=500`],
      ['score 0.5..1 by latency', `${job}?min=0.5&max=1&sort=latency`], ['text search', `${job}?q=${encodeURIComponent('number 99999:')}`],
      ['one sample', `${job}/samples/${Math.floor(n * 0.54)}`], ['compare', '/compare?a=bench-a&b=bench-b'],
      ['changed samples, page 100', `/compare/samples?a=bench-a&b=bench-b&job=${encodeURIComponent(JOB)}&page=100`], ['leaderboards', '/leaderboards'],
    ];
    for (const [label, path] of pages) {
      await measure(viewer.url, label, path, timings);
      log(`${label}: ${timings.filter((t) => t.page === label).map((t) => `${Math.round(t.ms)} ms (${t.note})`).join(', ')}`);
    }
    await viewer.close();
    // A first visit that needs both digests of a job (rows and texts, read side by side): a fresh viewer holds none.
    const fresh = await startViewer(store, { host: '127.0.0.1', port: 0, uiBase: 'http://127.0.0.1:8233', namespace: 'default' });
    await measure(fresh.url, 'text search, fresh viewer (B)', `/assignments/bench-b/jobs/${encodeURIComponent(JOB)}?q=${encodeURIComponent('number 4242:')}`, timings);
    log(`fresh text search: ${timings.filter((t) => t.page.startsWith('text search, fresh')).map((t) => `${Math.round(t.ms)} ms (${t.note})`).join(', ')}`);
    await fresh.close();
    process.stdout.write(`| page | ms | what |\n|---|---:|---|\n${timings.map((t) => `| ${t.page} | ${Math.round(t.ms)} | ${t.note} |`).join('\n')}\n`);
    process.stdout.write(`\n${n} samples per assignment, 2 assignments${values.scan ? ', no stored digests' : ''}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  } finally {
    await store.close();
    await stopMongo(dataDir);
    if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`viewer-bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
