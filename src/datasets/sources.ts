import { promises as fs } from 'node:fs';
import { canonicalJson, sha256Hex } from '../config/canonical';
import { parseCsvRecord } from './csv';
import { buildRecordIndex } from './record-index';
import type { RecordIndex } from './record-index';
import { DatasetError } from './types';

/** Rows of a source by position, before field mapping, shuffle and limit. */
export interface RowSource {
  contentHash: string;
  count: number;
  /** Rows at source positions; `sourceIndex` stays the row number in the file. */
  rows(positions: readonly number[]): Promise<Array<Record<string, unknown>>>;
}

/** JSON-array files are parsed whole: they are for small datasets; use JSONL or CSV beyond this. */
export const MAX_JSON_ARRAY_BYTES = 256 * 1024 * 1024;

function asRow(value: unknown, file: string, line: number): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DatasetError('expected a JSON object per sample', file, line);
  }
  return value as Record<string, unknown>;
}

/** A JSONL file read through its byte-offset index. */
export async function jsonlSource(file: string): Promise<RowSource> {
  const index = await buildRecordIndex(file, 'lines');
  return {
    contentHash: index.sha256,
    count: index.count,
    async rows(positions) {
      const records = await index.read(positions);
      return records.map(({ text, line }) => {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          throw new DatasetError(`malformed JSON: ${(err as Error).message}`, file, line);
        }
        return asRow(value, file, line);
      });
    },
  };
}

/** A CSV file with a header row, read through its byte-offset index. Values stay strings. */
export async function csvSource(file: string): Promise<RowSource> {
  const index: RecordIndex = await buildRecordIndex(file, 'csv');
  if (index.count === 0) throw new DatasetError('empty CSV file: a header row is required', file);
  const [headerRecord] = await index.read([0]);
  const header = parseCsvRecord(headerRecord.text).map((h) => h.trim());
  return {
    contentHash: index.sha256,
    count: index.count - 1,
    async rows(positions) {
      const records = await index.read(positions.map((p) => p + 1));
      return records.map(({ text, line }) => {
        let cells: string[];
        try {
          cells = parseCsvRecord(text);
        } catch (err) {
          throw new DatasetError((err as Error).message, file, line);
        }
        if (cells.length !== header.length) {
          throw new DatasetError(`expected ${header.length} columns, found ${cells.length}`, file, line);
        }
        return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
      });
    },
  };
}

/** A JSON file holding an array of objects. */
export async function jsonArraySource(file: string): Promise<RowSource> {
  const stat = await fs.stat(file);
  if (stat.size > MAX_JSON_ARRAY_BYTES) throw new DatasetError(`JSON array files are limited to ${MAX_JSON_ARRAY_BYTES} bytes; use JSONL`, file);
  const text = await fs.readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(`malformed JSON: ${(err as Error).message}`, file);
  }
  if (!Array.isArray(value)) throw new DatasetError('expected a JSON array of objects', file);
  value.forEach((v, i) => asRow(v, `${file} [${i}]`, 0));
  return memorySource(value as Array<Record<string, unknown>>, sha256Hex(text));
}

/** Rows already in memory (inline samples). */
export function memorySource(rows: ReadonlyArray<Record<string, unknown>>, contentHash = sha256Hex(canonicalJson(rows))): RowSource {
  return {
    contentHash,
    count: rows.length,
    async rows(positions) {
      return positions.map((p) => {
        const row = rows[p];
        if (row === undefined) throw new RangeError(`row ${p} out of range 0..${rows.length - 1}`);
        return row;
      });
    },
  };
}
