import { z } from 'zod';

/**
 * Epochs: a task asks each sample k times, each epoch its own request (own sample key), and a reducer turns
 * a sample's k scores into one before the aggregate. The confidence interval stays over samples.
 */

/** Reducers that turn one sample's epoch scores into its score. */
export const EPOCH_REDUCERS = ['mean', 'max', 'min', 'mode', 'majority'] as const;

/** `pass@k`: the unbiased estimator of at least one of k draws passing, over the sample's epochs. */
export const PASS_AT_K = /^pass@([1-9][0-9]*)$/;

/** How many times each sample of a task is asked. */
export const EpochsSchema = z
  .number()
  .int()
  .min(1)
  .max(1000)
  .describe('Times each sample is asked (epochs); each epoch is its own request with its own sample key, epoch 1 keeps the key of a run without epochs. Default 1.');

/** How a sample's epoch scores become its score. */
export const ReducerSchema = z
  .union([
    z.enum(EPOCH_REDUCERS),
    z.string().regex(PASS_AT_K, 'expected mean, max, min, mode, majority or pass@k (k a whole number >= 1)'),
  ], { error: 'expected mean, max, min, mode, majority or pass@k (k a whole number >= 1)' })
  .describe(
    "How a sample's epoch scores become its score: mean (default), max, min, mode (the most frequent score; ties to the lowest), majority (1 if more than half of the epochs passed, else 0) or pass@k (unbiased estimate of the chance that at least one of k epochs passes: 1 - C(n-c,k)/C(n,k) over n scored epochs, c passed; k at most epochs).",
  );

/** A reducer name. */
export type EpochReducer = z.infer<typeof ReducerSchema>;

/** The k of a `pass@k` reducer, or null for any other reducer. */
export function passAtKOf(reducer: string): number | null {
  const m = PASS_AT_K.exec(reducer);
  return m ? Number(m[1]) : null;
}
