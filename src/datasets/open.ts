import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { canonicalJson, sha256Hex } from '../config/canonical';
import type { DatasetConfig } from '../config/schema';
import { permutation } from './random';
import { csvSource, jsonArraySource, jsonlSource, memorySource } from './sources';
import { parquetSource } from './parquet';
import { hfSplitFiles } from './hf';
import type { RowSource } from './sources';
import { DatasetError } from './types';
import type { Dataset, Sample } from './types';

/** Opened file sources per process, keyed by path, format, mtime and size: a changed file is re-indexed. */
const cache = new Map<string, Promise<RowSource>>();
const MAX_CACHED = 32;

/**
 * Shuffle orders by dataset size and seed. Every read of a sample applies the view, and a worker reads its
 * samples one call at a time: the order of a large shuffled dataset is built once, not per read.
 */
const orders = new Map<string, Uint32Array>();
const MAX_ORDERS = 8;

/** Forgets every cached dataset index (tests, long-lived processes after edits). */
export function clearDatasetCache(): void {
  cache.clear();
  orders.clear();
}

/** The seeded shuffle of `count` positions, built once per size and seed (it depends on nothing else). */
export function orderOf(count: number, seed: number): Uint32Array {
  const key = `${count}|${seed}`;
  let order = orders.get(key);
  if (!order) {
    order = permutation(count, seed);
    if (orders.size >= MAX_ORDERS) orders.delete(orders.keys().next().value as string);
    orders.set(key, order);
  }
  return order;
}

/**
 * Opens a dataset: indexes the file (once per process and file version), then applies the view
 * (seeded shuffle as a permutation of positions, limit, field mapping) without loading the samples.
 */
export async function openDataset(config: DatasetConfig): Promise<Dataset> {
  const source = await openSource(config);
  const order = config.shuffle ? orderOf(source.count, config.seed) : undefined;
  const count = config.limit === undefined ? source.count : Math.min(config.limit, source.count);
  const fields = config.fields ?? { id: 'id', target: 'target', map: {} };
  const viewHash = sha256Hex(
    canonicalJson({ content: source.contentHash, fields, shuffle: config.shuffle, seed: config.shuffle ? config.seed : undefined, limit: config.limit }),
  );
  const readPage = async (offset: number, limit: number): Promise<Sample[]> => {
    const start = Math.max(0, Math.floor(offset));
    const end = Math.min(count, start + Math.max(0, Math.floor(limit)));
    if (end <= start) return [];
    const positions: number[] = [];
    for (let p = start; p < end; p++) positions.push(order ? order[p] : p);
    const rows = await source.rows(positions);
    return rows.map((row, i) => toSample(row, start + i, positions[i], fields));
  };
  return {
    contentHash: source.contentHash,
    viewHash,
    count,
    readPage,
    async *iterate(pageSize = 500) {
      for (let offset = 0; offset < count; offset += pageSize) yield* await readPage(offset, pageSize);
    },
  };
}

function toSample(row: Record<string, unknown>, index: number, sourceIndex: number, fields: DatasetConfig['fields']): Sample {
  const mapped: Record<string, unknown> = { ...row };
  for (const [name, column] of Object.entries(fields.map)) mapped[name] = row[column];
  const rawId = row[fields.id];
  const id = rawId === undefined || rawId === null || rawId === '' ? String(sourceIndex) : String(rawId);
  const sample: Sample = { index, id, fields: mapped };
  if (row[fields.target] !== undefined) sample.target = row[fields.target];
  return sample;
}

async function openSource(config: DatasetConfig): Promise<RowSource> {
  if (config.samples !== undefined) return memorySource(config.samples);
  if (config.path === undefined) throw new DatasetError('dataset has neither path nor samples');
  const file = path.resolve(config.path);
  const stat = await fs.stat(file).catch(() => {
    throw new DatasetError('dataset file not found', file);
  });
  const format = config.format ?? (stat.isDirectory() ? 'hf' : formatFromExtension(file));
  if (format === 'hf' && !stat.isDirectory()) throw new DatasetError('format hf needs a Hugging Face dataset folder, not a file', file);
  if (format !== 'hf' && stat.isDirectory()) throw new DatasetError(`a folder cannot be read as ${format}; a Hugging Face dataset folder is format hf`, file);
  const files = format === 'hf' ? await hfSplitFiles(file, { split: config.split, subset: config.subset }) : [file];
  const versions = await Promise.all(files.map(async (f) => {
    const s = await fs.stat(f);
    return `${f}|${s.mtimeMs}|${s.size}`;
  }));
  const key = `${format}|${versions.join('|')}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = format === 'hf' || format === 'parquet' ? parquetSource(files, file)
      : format === 'csv' ? csvSource(file) : format === 'json' ? jsonArraySource(file) : jsonlSource(file);
    void pending.catch(() => cache.delete(key));
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(key, pending);
  }
  return pending;
}

function formatFromExtension(file: string): 'jsonl' | 'csv' | 'json' | 'parquet' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new DatasetError(`cannot tell the format from "${ext}"; set format`, file);
}
