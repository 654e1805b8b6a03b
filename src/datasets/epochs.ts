import type { Dataset, Sample } from './types';

/**
 * A task with epochs asks every sample k times. Its samples as a job sees them are the dataset repeated
 * epoch after epoch: position p is row p mod n of epoch floor(p / n) + 1, so epoch 1 keeps the positions
 * (and keys) of a run without epochs, and a contiguous page of positions is at most k contiguous reads.
 */

/** Where a job position lies: its dataset row and its epoch (1-based). */
export function epochPosition(position: number, rows: number): { row: number; epoch: number } {
  if (rows <= 0) return { row: position, epoch: 1 };
  return { row: position % rows, epoch: Math.floor(position / rows) + 1 };
}

/** The dataset seen through `epochs`: `count` is rows x epochs, and every sample says its epoch. */
export function withEpochs(dataset: Dataset, epochs: number): Dataset {
  if (epochs <= 1) return dataset;
  const rows = dataset.count;
  const count = rows * epochs;
  const readPage = async (offset: number, limit: number): Promise<Sample[]> => {
    const start = Math.max(0, Math.floor(offset));
    const end = Math.min(count, start + Math.max(0, Math.floor(limit)));
    const out: Sample[] = [];
    for (let p = start; p < end;) {
      const { row, epoch } = epochPosition(p, rows);
      const length = Math.min(end - p, rows - row);
      const page = await dataset.readPage(row, length);
      page.forEach((sample, i) => out.push({ ...sample, index: p + i, epoch }));
      p += length;
    }
    return out;
  };
  return {
    contentHash: dataset.contentHash,
    viewHash: dataset.viewHash,
    count,
    readPage,
    async *iterate(pageSize = 500) {
      for (let offset = 0; offset < count; offset += pageSize) yield* await readPage(offset, pageSize);
    },
  };
}
