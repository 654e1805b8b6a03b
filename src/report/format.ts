/** Small text helpers shared by the report renderers: numbers, CSV fields, Markdown cells, aligned columns. */

/** Output formats of `report` and `leaderboard`. */
export const REPORT_FORMATS = ['table', 'md', 'csv', 'json'] as const;
/** One of REPORT_FORMATS. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A score or fraction with three decimals; '-' when there is none. */
export function fixed3(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '-';
}

/** A mean with its 95% interval, as summary tables show it: `0.720 [0.581, 0.830]`. */
export function scoreText(score: { mean: number; ci95: [number, number] } | null | undefined): string {
  if (!score) return '-';
  return `${fixed3(score.mean)} [${fixed3(score.ci95[0])}, ${fixed3(score.ci95[1])}]`;
}

/**
 * How many samples a score covers, of how many, and how many failed: ` n=78/80 (2 failed)`. A failed
 * sample has no score, so the mean alone would hide it; this says it next to every score. With epochs the
 * score is over samples, each reduced from its epochs: ` n=40/40, pass@2 of 2 epochs (3/80 epochs failed)`.
 */
export function coverageText(score: { n: number; epochs?: number; reducer?: string; samples?: number }, counts: { total: number; failed: number }): string {
  if (score.epochs !== undefined && score.epochs > 1) {
    const failed = counts.failed > 0 ? ` (${counts.failed}/${counts.total} epochs failed)` : '';
    return ` n=${score.n}/${score.samples ?? Math.floor(counts.total / score.epochs)}, ${score.reducer ?? 'mean'} of ${score.epochs} epochs${failed}`;
  }
  return ` n=${score.n}/${counts.total}${counts.failed > 0 ? ` (${counts.failed} failed)` : ''}`;
}

/** A number for CSV: full precision, empty when missing. */
export function csvNumber(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? String(x) : '';
}

/** One CSV field per RFC 4180: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line (no line break). */
export function csvLine(values: readonly string[]): string {
  return values.map(csvField).join(',');
}

/** A Markdown table cell: pipes escaped and line breaks flattened so the table stays one row per line. */
export function mdCell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A Markdown table: header, separator and rows. */
export function mdTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** A text cell for terminals: one line, at most `max` characters. */
export function clip(value: string, max = 48): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Columns padded to their widest cell; the first column left-aligned, the others too (text is mixed). */
export function alignedTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Reads RFC 4180 CSV (what csvLine writes) back into rows; for checking exports and for scripts. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') field += text[++i];
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** An environment's overall metric (AgentBench's calculate_overall) on one line: compact JSON, clipped. */
export function overallText(overall: unknown): string {
  if (overall === undefined || overall === null) return '';
  const text = JSON.stringify(overall);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
