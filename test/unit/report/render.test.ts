import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounts } from '../../../src/contracts';
import type { AssignmentDoc, JobDoc } from '../../../src/store/documents';
import { buildSummary } from '../../../src/report/summary';
import { renderSummary, writeReport } from '../../../src/report/render';
import { parseCsv, csvLine, mdCell } from '../../../src/report/format';
import { detailRow, type DetailRow } from '../../../src/report/details';

function assignment(): AssignmentDoc {
  const now = new Date('2024-05-01T10:00:00Z');
  return {
    _id: 'a1', name: 'grid', config: { models: [{ id: 'm1' }, { id: 'm0' }], tasks: [{ id: 't0' }, { id: 't1' }] }, mode: 'all', workflowId: 'evalctl/a1',
    status: 'completed', paused: false, cancelRequested: false, counts: { ...emptyCounts(4), succeeded: 3, failed: 1 }, createdAt: now, endedAt: now, updatedAt: now,
  };
}

function job(modelId: string, taskId: string, mean: number | null): JobDoc {
  return {
    _id: `a1/${modelId}/${taskId}`, assignmentId: 'a1', jobId: `${modelId}/${taskId}`, modelId, taskId, workflowId: 'w', status: 'completed',
    counts: { ...emptyCounts(2), succeeded: 2 }, updatedAt: new Date(),
    metrics: {
      score: mean === null ? null : { n: 2, mean, ci95: [mean - 0.1, mean + 0.1], method: 'wilson' },
      latencyMs: { p50: 10, p95: NaN }, tokens: { input: 5, output: 6 }, cost: 0.5,
    },
  };
}

const jobs = [job('m0', 't0', 0.5), job('m0', 't1', 0.25), job('m1', 't0', 1), job('m2', 't1', null)];

test('the summary has models as rows and tasks as columns, in config order, extra ids last', () => {
  const table = buildSummary(assignment(), jobs);
  assert.deepEqual(table.models, ['m1', 'm0', 'm2']);
  assert.deepEqual(table.tasks, ['t0', 't1']);
  assert.equal(table.rows[1].cells.t1?.score?.mean, 0.25);
  assert.equal(table.rows[0].cells.t1, undefined, 'm1 did not run t1');
  assert.equal(table.rows[0].cells.t0?.latencyMs.p95, null, 'NaN percentiles become null');
});

test('csv has per task the mean, both bounds, n, total and failed, and parses back to the figures', () => {
  const rows = parseCsv(renderSummary(buildSummary(assignment(), jobs), 'csv'));
  assert.deepEqual(rows[0], ['model', ...['t0', 't1'].flatMap((t) => [t, `${t}_ci95_low`, `${t}_ci95_high`, `${t}_n`, `${t}_total`, `${t}_failed`])]);
  const m0 = rows.find((r) => r[0] === 'm0');
  assert.deepEqual(m0?.slice(1).map(Number), [0.5, 0.4, 0.6, 2, 2, 0, 0.25, 0.15, 0.35, 2, 2, 0]);
  assert.deepEqual(rows.find((r) => r[0] === 'm1')?.slice(7), ['', '', '', '', '', '']);
});

test('table and markdown show mean [95% CI] per cell', () => {
  const table = buildSummary(assignment(), jobs);
  const text = renderSummary(table, 'table');
  assert.match(text, /m0\s+0\.500 \[0\.400, 0\.600\] n=2\/2\s+0\.250 \[0\.150, 0\.350\] n=2\/2/);
  const md = renderSummary(table, 'md');
  assert.match(md, /\| m1 \| 1\.000 \[0\.900, 1\.100\] n=2\/2 \|  \|/);
  assert.match(md, /\| m0\/t0 \| completed \| 2 \|/);
});

const sample = (index: number, prediction: string): DetailRow =>
  detailRow(
    { modelId: 'm0', taskId: 't0', index, sampleKey: `k${index}`, status: 'succeeded' },
    { _id: `k${index}`, sampleId: `s${index}`, input: 'a, "quoted"\nline', prediction, target: '4', score: { value: 1, passed: true }, error: null, errorType: null, attempts: 1, latencyMs: 3, usage: null, cost: null },
  );

test('json with details is the summary plus a details array, and parses', async () => {
  let out = '';
  await writeReport((s) => (out += s), buildSummary(assignment(), jobs), 'json', [sample(0, '4'), sample(1, '5')]);
  const parsed = JSON.parse(out) as { assignmentId: string; rows: unknown[]; details: DetailRow[] };
  assert.equal(parsed.assignmentId, 'a1');
  assert.equal(parsed.rows.length, 3);
  assert.deepEqual(parsed.details.map((d) => d.prediction), ['4', '5']);
  let empty = '';
  await writeReport((s) => (empty += s), buildSummary(assignment(), jobs), 'json', []);
  assert.deepEqual((JSON.parse(empty) as { details: unknown[] }).details, []);
});

test('csv with details is one table of samples whose text survives quotes, commas and newlines', async () => {
  let out = '';
  await writeReport((s) => (out += s), buildSummary(assignment(), jobs), 'csv', [sample(0, '4')]);
  const rows = parseCsv(out);
  assert.equal(rows.length, 2);
  assert.equal(rows[1][rows[0].indexOf('input')], 'a, "quoted"\nline');
  assert.equal(rows[1][rows[0].indexOf('passed')], 'true');
});

test('markdown cells keep one row per line', () => {
  assert.equal(mdCell('a|b\nc'), 'a\\|b<br>c');
  assert.equal(csvLine(['x', 'y,z']), 'x,"y,z"');
});

test('a score says how many samples it covers and how many failed', () => {
  const failing = { ...jobs[0], counts: { ...jobs[0].counts, total: 80, failed: 2 }, metrics: { ...jobs[0].metrics!, score: { n: 78, mean: 0.5, ci95: [0.4, 0.6] as [number, number], method: 'wilson' } } };
  const table = buildSummary(assignment(), [failing]);
  assert.match(renderSummary(table, 'table'), /0\.500 \[0\.400, 0\.600\] n=78\/80 \(2 failed\)/);
  const csv = parseCsv(renderSummary(table, 'csv'));
  const row = csv.find((r) => r[0] === failing.modelId)!;
  assert.equal(row[csv[0].indexOf(`${failing.taskId}_failed`)], '2');
  assert.equal(row[csv[0].indexOf(`${failing.taskId}_total`)], '80');
});
