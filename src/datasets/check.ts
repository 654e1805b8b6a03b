import type { DatasetConfig } from '../config/schema';
import { openDataset } from './open';
import { DatasetError } from './types';

/**
 * Reads every sample a dataset will serve once, so a malformed row (a bad JSON line, a ragged CSV row) or an
 * empty file is reported at the edge, before anything starts, instead of failing the planner afterwards.
 * Resolves to the sample count. Memory stays bounded: samples are read page by page and dropped.
 */
export async function checkDataset(config: DatasetConfig): Promise<number> {
  const dataset = await openDataset(config);
  if (dataset.count === 0) throw new DatasetError('dataset has no samples', config.path);
  let read = 0;
  for await (const sample of dataset.iterate(1000)) if (sample) read++;
  return read;
}
