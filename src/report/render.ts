import { DETAIL_COLUMNS, detailCells, type DetailRow } from './details';
import { alignedTable, clip, coverageText, csvLine, csvNumber, fixed3, mdTable, overallText, scoreText, type ReportFormat } from './format';
import type { SummaryCell, SummaryTable } from './summary';

/**
 * Renders summary tables and per-sample details. Summaries are small and rendered whole; details can be
 * millions of rows, so they are written row by row to a sink and never held in memory.
 */

/** Where rendered text goes (stdout, a file). */
export type Sink = (chunk: string) => void;

/** Rows of details, from an array in tests or a database cursor in the CLI. */
export type DetailSource = Iterable<DetailRow> | AsyncIterable<DetailRow>;

/** The CSV header of a summary: per task its mean, interval bounds, scored samples, samples and failed samples. */
export function summaryCsvHeader(tasks: readonly string[]): string[] {
  return ['model', ...tasks.flatMap((t) => [t, `${t}_ci95_low`, `${t}_ci95_high`, `${t}_n`, `${t}_total`, `${t}_failed`])];
}

/** Summary as CSV: one line per model, numbers at full precision. */
export function summaryCsv(table: SummaryTable): string {
  const lines = [csvLine(summaryCsvHeader(table.tasks))];
  for (const row of table.rows) {
    const cells = table.tasks.flatMap((t) => {
      const cell = row.cells[t];
      const s = cell?.score;
      return [csvNumber(s?.mean), csvNumber(s?.ci95[0]), csvNumber(s?.ci95[1]), csvNumber(s?.n), csvNumber(cell?.counts.total), csvNumber(cell?.counts.failed)];
    });
    lines.push(csvLine([row.modelId, ...cells]));
  }
  return `${lines.join('\n')}\n`;
}

function cellText(cell: SummaryCell | undefined): string {
  if (!cell) return '';
  if (cell.score) return `${scoreText(cell.score)}${coverageText(cell.score, cell.counts)}`;
  const failed = cell.counts.failed > 0 ? ` (${cell.counts.failed}/${cell.counts.total} failed)` : '';
  return `${cell.status === 'completed' ? '-' : cell.status}${failed}`;
}

const JOB_HEADER = ['job', 'status', 'n', 'succeeded', 'reused', 'failed', 'canceled', 'p50 ms', 'p95 ms', 'tokens in', 'tokens out', 'cost'];

function jobLines(table: SummaryTable): string[][] {
  const out: string[][] = [];
  for (const row of table.rows) {
    for (const task of table.tasks) {
      const c = row.cells[task];
      if (!c) continue;
      const ms = (x: number | null): string => (x === null ? '-' : String(Math.round(x)));
      out.push([
        c.jobId, c.status, String(c.score?.n ?? 0), String(c.counts.succeeded), String(c.counts.reused), String(c.counts.failed),
        String(c.counts.canceled), ms(c.latencyMs.p50), ms(c.latencyMs.p95), String(c.tokens.input), String(c.tokens.output), fixed3(c.cost),
      ]);
    }
  }
  return out;
}

/** Jobs with an environment overall metric (agent tasks), one line each: job, then the metric as JSON. */
function overallLines(table: SummaryTable): string[][] {
  const out: string[][] = [];
  for (const row of table.rows) {
    for (const task of table.tasks) {
      const c = row.cells[task];
      if (c?.overall !== undefined) out.push([c.jobId, overallText(c.overall)]);
    }
  }
  return out;
}

const OVERALL_HEADER = ['job', 'environment overall (calculate_overall)'];

function headline(table: SummaryTable): string {
  const c = table.counts;
  const err = table.error ? `\nerror: ${table.error}` : '';
  return `assignment ${table.assignmentId} (${table.name}): ${table.status}; ${c.total} samples, ${c.succeeded} succeeded, ${c.reused} reused, ${c.failed} failed, ${c.canceled} canceled${err}`;
}

/** Summary for people: the models x tasks score table (mean [95% CI]), then one line of figures per job. */
export function summaryText(table: SummaryTable): string {
  const scores = table.rows.map((r) => [r.modelId, ...table.tasks.map((t) => cellText(r.cells[t]))]);
  const overall = overallLines(table);
  return [
    headline(table), '', alignedTable(['model', ...table.tasks], scores), '', alignedTable(JOB_HEADER, jobLines(table)), '',
    ...(overall.length ? [alignedTable(OVERALL_HEADER, overall), ''] : []),
  ].join('\n');
}

/** Summary as Markdown, for summary.md and pasting into pull requests. */
export function summaryMarkdown(table: SummaryTable): string {
  const scores = table.rows.map((r) => [r.modelId, ...table.tasks.map((t) => cellText(r.cells[t]))]);
  return [
    `# ${table.name}`, '', headline(table).replace(/\n/g, '  \n'), '',
    'Score: mean [95% confidence interval].', '', mdTable(['model', ...table.tasks], scores), '',
    '## Jobs', '', mdTable(JOB_HEADER, jobLines(table)), '',
    ...(overallLines(table).length ? ['## Environment overall metrics', '', mdTable(OVERALL_HEADER, overallLines(table)), ''] : []),
  ].join('\n');
}

/** Renders a summary in one of the report formats. */
export function renderSummary(table: SummaryTable, format: ReportFormat): string {
  switch (format) {
    case 'csv': return summaryCsv(table);
    case 'md': return summaryMarkdown(table);
    case 'json': return `${JSON.stringify(table, null, 2)}\n`;
    default: return summaryText(table);
  }
}

/**
 * Writes a report: the summary, then with details every sample. CSV with details is the details table
 * alone (one table per file, so it parses); JSON with details is the summary object plus a `details` array.
 */
export async function writeReport(out: Sink, table: SummaryTable, format: ReportFormat, details?: DetailSource): Promise<void> {
  if (!details) return out(renderSummary(table, format));
  if (format === 'csv') {
    out(`${csvLine(DETAIL_COLUMNS)}\n`);
    for await (const row of details) out(`${csvLine(detailCells(row))}\n`);
    return;
  }
  if (format === 'json') {
    const head = JSON.stringify(table, null, 2);
    out(`${head.slice(0, head.lastIndexOf('}')).trimEnd()},\n  "details": [`);
    let first = true;
    for await (const row of details) {
      out(`${first ? '' : ','}\n    ${JSON.stringify(row)}`);
      first = false;
    }
    return out(`${first ? '' : '\n  '}]\n}\n`);
  }
  out(renderSummary(table, format));
  out(format === 'md' ? '\n## Samples\n\n' : '\nsamples:\n');
  await writeDetailTable(out, format, details);
}

async function writeDetailTable(out: Sink, format: 'table' | 'md', details: DetailSource): Promise<void> {
  const header = [...DETAIL_COLUMNS];
  if (format === 'md') {
    out(`${mdTable(header, []).trimEnd()}\n`);
    for await (const row of details) out(`${mdTable(header, [detailCells(row)]).split('\n')[2]}\n`);
    return;
  }
  // Terminal tables are aligned per page of rows so output starts at once and memory stays flat.
  let page: string[][] = [];
  const flush = (): void => {
    if (page.length > 0) out(`${alignedTable(header, page)}\n`);
    page = [];
  };
  for await (const row of details) {
    page.push(detailCells(row).map((c) => clip(c)));
    if (page.length >= 200) flush();
  }
  flush();
}
