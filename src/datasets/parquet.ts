import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import type { AsyncBuffer, Compressors, FileMetaData } from 'hyparquet';
import type * as HyparquetModule from 'hyparquet';
import type * as CompressorsModule from 'hyparquet-compressors';
import type { RowSource } from './sources';
import { DatasetError } from './types';

/**
 * Parquet files (what Hugging Face publishes datasets as) read with hyparquet: pure JavaScript, no native
 * build, snappy built in and gzip, brotli, zstd and lz4 from hyparquet-compressors. Opening reads only
 * each file's footer (row counts per row group) and hashes the bytes; rows are decoded one row group at a
 * time when asked for, with recent row groups kept up to a size bound, so memory follows the row group, not
 * the file.
 */

type Hyparquet = typeof HyparquetModule;
type HyparquetCompressors = typeof CompressorsModule;

// hyparquet is published as ES modules only; a real import() (which TypeScript's CommonJS output would turn
// into require) loads it on every supported Node version, and only when a Parquet dataset is opened.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
let libraries: Promise<{ hyparquet: Hyparquet; compressors: Compressors }> | undefined;

function loadLibraries(): Promise<{ hyparquet: Hyparquet; compressors: Compressors }> {
  libraries ??= Promise.all([importModule('hyparquet') as Promise<Hyparquet>, importModule('hyparquet-compressors') as Promise<HyparquetCompressors>])
    .then(([hyparquet, extra]) => ({ hyparquet, compressors: extra.compressors }));
  return libraries;
}

/** One row group of one file, placed in the rows of the whole source. */
interface Group {
  file: string;
  metadata: FileMetaData;
  /** First row of the group in its file. */
  fileStart: number;
  /** First row of the group in the source. */
  start: number;
  rows: number;
  /** Uncompressed bytes of the group, as its footer says. */
  bytes: number;
}

/**
 * Decoded row groups stay in memory between reads while their uncompressed size (from the footer) adds up to
 * at most this, and the last two always do: sequential pages hit them again, and a small file (most
 * evaluation sets) stays decoded whole, so a shuffled order costs no re-decoding. Decoded rows take a few
 * times their uncompressed bytes in JavaScript.
 */
const KEPT_BYTES = 16 * 1024 * 1024;
const KEPT_GROUPS_MIN = 2;

/** Reads byte ranges of an open file, as hyparquet asks for them. */
function fileBuffer(handle: fs.FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const length = Math.max(0, Math.min(end, byteLength) - start);
      const bytes = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(bytes, read, length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

/** The footer of one Parquet file. */
async function readMetadata(file: string): Promise<FileMetaData> {
  const { hyparquet } = await loadLibraries();
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    return await hyparquet.parquetMetadataAsync(fileBuffer(handle, size));
  } catch (err) {
    throw new DatasetError(`not a readable Parquet file: ${(err as Error).message}`, file);
  } finally {
    await handle.close();
  }
}

/** sha256 of the files' bytes in order (one file: the file's own sha256, as for JSONL). */
async function hashFiles(files: readonly string[]): Promise<string> {
  const hashes: string[] = [];
  for (const file of files) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    hashes.push(hash.digest('hex'));
  }
  return hashes.length === 1 ? hashes[0] : createHash('sha256').update(hashes.join('\n')).digest('hex');
}

/**
 * A value as JSON would hold it, so a Parquet row and the same row in JSONL make the same sample (and the
 * same key): 64-bit integers become numbers (strings beyond 2^53), dates ISO strings, bytes base64.
 */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonValue);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, jsonValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  return value;
}

/**
 * Top-level columns annotated as JSON: their values are JSON text, which a JSONL file of the same rows holds
 * as the value itself. Walks the flattened schema (root first, then each element and its children).
 */
function jsonColumns(metadata: FileMetaData): Set<string> {
  const out = new Set<string>();
  const schema = metadata.schema;
  let i = 1;
  const skip = (at: number): number => {
    let next = at + 1;
    for (let c = 0; c < (schema[at].num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const el = schema[i];
    if (el.converted_type === 'JSON' || el.logical_type?.type === 'JSON') out.add(el.name);
    i = skip(i);
  }
  return out;
}

/** A row with its JSON columns parsed; text that is not JSON stays text. */
function parseJsonColumns(row: Record<string, unknown>, columns: ReadonlySet<string>): Record<string, unknown> {
  for (const name of columns) {
    const v = row[name];
    if (typeof v !== 'string') continue;
    try {
      row[name] = JSON.parse(v);
    } catch {
      // Left as written: the file says JSON, the value is not; the scorer or prompt sees the text.
    }
  }
  return row;
}

/** The row group holding source row `row` (groups sorted by start). */
function groupIndexOf(groups: readonly Group[], row: number): number {
  let lo = 0;
  let hi = groups.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (groups[mid].start <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One or more Parquet files read as one source, rows in file order; `label` names it in errors. */
export async function parquetSource(files: readonly string[], label = files[0]): Promise<RowSource> {
  const groups: Group[] = [];
  let count = 0;
  for (const file of files) {
    const metadata = await readMetadata(file);
    let fileStart = 0;
    for (const group of metadata.row_groups) {
      const rows = Number(group.num_rows);
      if (rows > 0) groups.push({ file, metadata, fileStart, start: count, rows, bytes: Number(group.total_byte_size) });
      fileStart += rows;
      count += rows;
    }
  }
  const contentHash = await hashFiles(files);
  const kept = new Map<number, Array<Record<string, unknown>>>();
  let keptBytes = 0;
  const decode = async (index: number): Promise<Array<Record<string, unknown>>> => {
    const hit = kept.get(index);
    if (hit) {
      // Most recently used last, so eviction drops the coldest group.
      kept.delete(index);
      kept.set(index, hit);
      return hit;
    }
    const rows = await readGroup(groups[index], label);
    keptBytes += groups[index].bytes;
    kept.set(index, rows);
    while (kept.size > KEPT_GROUPS_MIN && keptBytes > KEPT_BYTES) {
      const coldest = kept.keys().next().value as number;
      kept.delete(coldest);
      keptBytes -= groups[coldest].bytes;
    }
    return rows;
  };
  return {
    contentHash,
    count,
    async rows(positions) {
      const out = new Array<Record<string, unknown>>(positions.length);
      const byGroup = new Map<number, number[]>();
      positions.forEach((p, i) => {
        if (!Number.isInteger(p) || p < 0 || p >= count) throw new RangeError(`row ${p} out of range 0..${count - 1}`);
        const g = groupIndexOf(groups, p);
        const list = byGroup.get(g);
        if (list) list.push(i);
        else byGroup.set(g, [i]);
      });
      for (const [g, wanted] of [...byGroup].sort((a, b) => a[0] - b[0])) {
        const rows = await decode(g);
        for (const i of wanted) out[i] = rows[positions[i] - groups[g].start];
      }
      return out;
    },
  };
}

/** Decodes one row group into JSON-like rows. */
async function readGroup(group: Group, label: string): Promise<Array<Record<string, unknown>>> {
  const { hyparquet, compressors } = await loadLibraries();
  const handle = await fs.open(group.file, 'r');
  try {
    const { size } = await handle.stat();
    const rows = await hyparquet.parquetReadObjects({
      file: fileBuffer(handle, size), metadata: group.metadata, rowStart: group.fileStart, rowEnd: group.fileStart + group.rows, compressors,
    });
    const json = jsonColumns(group.metadata);
    return rows.map((row) => parseJsonColumns(jsonValue(row) as Record<string, unknown>, json));
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`cannot read rows ${group.fileStart}..${group.fileStart + group.rows - 1}: ${(err as Error).message}`, label === group.file ? group.file : `${label} (${group.file})`);
  } finally {
    await handle.close();
  }
}
