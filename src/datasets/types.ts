import { ErrorTypes } from '../contracts/errors';

/** One sample of a dataset, as prompts and scorers see it. */
export interface Sample {
  /** Position in the dataset as used (after shuffle and limit), 0-based. */
  index: number;
  /** Id from the id column, or the 0-based row number in the source. */
  id: string;
  /** Every column, plus the names mapped by `fields.map`. */
  fields: Record<string, unknown>;
  /** The expected answer, from the target column. */
  target?: unknown;
  /** 1-based epoch of a task with epochs (absent without): each epoch is its own request. */
  epoch?: number;
}

/** An opened dataset: counted and indexed, read by page without holding the samples in memory. */
export interface Dataset {
  /** sha256 of the source bytes (file) or of the canonical inline samples. */
  contentHash: string;
  /** sha256 of contentHash plus the view options (fields, shuffle, seed, limit): identifies `readPage` results. */
  viewHash: string;
  /** Samples in the dataset as used (after limit). */
  count: number;
  /** Samples at positions [offset, offset + limit). */
  readPage(offset: number, limit: number): Promise<Sample[]>;
  /** Every sample in order, read page by page. */
  iterate(pageSize?: number): AsyncIterable<Sample>;
}

/** A dataset file is missing or malformed: fixing the file is the only cure. */
export class DatasetError extends Error {
  override name = 'DatasetError';
  readonly type = ErrorTypes.DatasetInvalid;
  readonly retryable = false;
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line ? `:${line}` : ''}: ${message}` : message);
  }
}
