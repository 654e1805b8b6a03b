import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from './types';

/**
 * A local Hugging Face dataset folder: a clone or snapshot of a dataset repository, whose data files are
 * Parquet in the Hub's layouts. The folder layout decides the subsets (configs) and splits:
 *   data/<split>-00000-of-00001.parquet          (push_to_hub, the default subset)
 *   <subset>/<split>-00000-of-00001.parquet      (push_to_hub with a config name)
 *   <subset>/<split>/0000.parquet                (the Hub's Parquet conversion, refs/convert/parquet)
 *   <split>-*.parquet, <split>.parquet           (files at the top)
 * A split's files are read in name order (shard order).
 */

/** The subset (config) that files directly in data/ or at the top belong to. */
export const DEFAULT_SUBSET = 'default';

/** A split name as `datasets` allows it: word characters, dot-separated. */
const SPLIT = /^\w+(\.\w+)*$/;

/** One Parquet file of the folder, with the subset and split its place says. */
export interface HfDataFile {
  file: string;
  subset: string;
  split: string;
}

/** The split a file name says: `train-00000-of-00002.parquet` and `train.parquet` are both train. */
function splitOfName(name: string): string | null {
  const stem = name.replace(/\.parquet$/i, '');
  const split = stem.split('-')[0];
  return SPLIT.test(split) ? split : null;
}

async function parquetFiles(dir: string, depth: number): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) out.push(...(await parquetFiles(full, depth - 1)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.parquet')) out.push(full);
  }
  return out;
}

/** Every Parquet data file of a dataset folder, placed by the Hub's layouts. */
export async function hfDataFiles(dir: string): Promise<HfDataFile[]> {
  const files: HfDataFile[] = [];
  for (const file of await parquetFiles(dir, 2)) {
    const parts = path.relative(dir, file).split(path.sep);
    const name = parts[parts.length - 1];
    let place: { subset: string; split: string | null };
    if (parts.length === 1) place = { subset: DEFAULT_SUBSET, split: splitOfName(name) };
    else if (parts.length === 2) place = { subset: parts[0] === 'data' ? DEFAULT_SUBSET : parts[0], split: splitOfName(name) };
    else place = { subset: parts[0] === 'data' ? DEFAULT_SUBSET : parts[0], split: SPLIT.test(parts[1]) ? parts[1] : null };
    if (place.split) files.push({ file, subset: place.subset, split: place.split });
  }
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

/** What a folder written by `save_to_disk` holds instead of Parquet (Arrow files), to say so plainly. */
function isSaveToDisk(dir: string): boolean {
  return existsSync(path.join(dir, 'dataset_dict.json')) || existsSync(path.join(dir, 'state.json'));
}

/**
 * The Parquet files of one split of one subset of a dataset folder. Without `subset`, the default one (or
 * the only one); without `split`, the only one. Anything ambiguous or missing is a DatasetError that lists
 * what the folder has.
 */
export async function hfSplitFiles(dir: string, opts: { split?: string; subset?: string }): Promise<string[]> {
  const all = await hfDataFiles(dir);
  if (all.length === 0) {
    const hint = isSaveToDisk(dir)
      ? 'it was written by save_to_disk (Arrow files), which evalctl does not read; write Parquet instead: ds.to_parquet("<split>.parquet"), or push_to_hub and download the repository'
      : 'expected Parquet files as the Hub lays them out (data/<split>-*.parquet, <subset>/<split>/*.parquet)';
    throw new DatasetError(`no Parquet data files in the dataset folder: ${hint}`, dir);
  }
  const subsets = [...new Set(all.map((f) => f.subset))].sort();
  const subset = opts.subset ?? (subsets.includes(DEFAULT_SUBSET) ? DEFAULT_SUBSET : subsets.length === 1 ? subsets[0] : undefined);
  if (subset === undefined || !subsets.includes(subset)) {
    throw new DatasetError(`${opts.subset === undefined ? 'several subsets' : `no subset "${opts.subset}"`}: set dataset.subset to one of ${subsets.join(', ')}`, dir);
  }
  const inSubset = all.filter((f) => f.subset === subset);
  const splits = [...new Set(inSubset.map((f) => f.split))].sort();
  const split = opts.split ?? (splits.length === 1 ? splits[0] : undefined);
  if (split === undefined || !splits.includes(split)) {
    throw new DatasetError(`${opts.split === undefined ? 'several splits' : `no split "${opts.split}"`} in subset ${subset}: set dataset.split to one of ${splits.join(', ')}`, dir);
  }
  return inSubset.filter((f) => f.split === split).map((f) => f.file);
}
