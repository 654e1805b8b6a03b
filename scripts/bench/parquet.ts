import { writeFileSync } from 'node:fs';
import type * as WriterModule from 'hyparquet-writer';

/**
 * Writes Parquet files for tests and benchmarks with hyparquet-writer (a devDependency; ES modules only,
 * hence the real import()). Integer columns are written as INT64, so readers meet 64-bit values as they
 * do in Hugging Face files; strings as UTF8; other values as JSON.
 */

type Writer = typeof WriterModule;
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** How a test file is written: rows per row group and the compression codec (snappy by default). */
export interface ParquetFileOptions {
  rowGroupSize?: number;
  codec?: 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP';
  /** Compressors for codecs hyparquet-writer does not have built in (GZIP). */
  compressors?: Record<string, (input: Uint8Array) => Uint8Array>;
}

/** Writes rows (objects with the same columns) as one Parquet file. */
export async function writeParquet(file: string, rows: ReadonlyArray<Record<string, unknown>>, opts: ParquetFileOptions = {}): Promise<void> {
  const writer = (await importModule('hyparquet-writer')) as Writer;
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const columnData = names.map((name) => {
    const values = rows.map((r) => r[name] ?? null);
    const present = values.filter((v) => v !== null);
    if (present.every((v) => typeof v === 'number' && Number.isInteger(v))) return { name, data: values.map((v) => (v === null ? null : BigInt(v as number))), type: 'INT64' as const };
    if (present.every((v) => typeof v === 'number')) return { name, data: values, type: 'DOUBLE' as const };
    if (present.every((v) => typeof v === 'string')) return { name, data: values, type: 'STRING' as const };
    return { name, data: values.map((v) => (v === null ? null : JSON.stringify(v))), type: 'JSON' as const };
  });
  const buffer = writer.parquetWriteBuffer({
    columnData, rowGroupSize: opts.rowGroupSize ?? 1000, codec: opts.codec ?? 'SNAPPY',
    ...(opts.compressors ? { compressors: opts.compressors as never } : {}),
  });
  writeFileSync(file, Buffer.from(buffer));
}

/** The bench's synthetic dataset (the rows writeDataset writes as JSONL) as one Parquet file. */
export async function writeDatasetParquet(file: string, samples: number, salt: string, rowGroupSize: number): Promise<void> {
  const rows = Array.from({ length: samples }, (_, i) => ({ id: `s${i}`, question: `${salt}: what is ${i} + 1?`, target: String(i + 1) }));
  await writeParquet(file, rows, { rowGroupSize });
}
