/** Datasets: JSONL, CSV, JSON array and inline samples, read by page through a byte-offset index. */
export { openDataset, clearDatasetCache } from './open';
export { DatasetError } from './types';
export { epochPosition, withEpochs } from './epochs';
export type { Dataset, Sample } from './types';
