import type { Filter } from 'mongodb';
import type { PreparedSample, RunMode } from '../contracts';
import { figuresOf, type ResultDoc, type ResultFigures } from '../store/documents';
import { findByIds, type Store } from '../store/store';
import { searchTextOf } from '../store/search-text';
import type { KeyedSample } from './samples';

/** What an assignment asks to reuse: nothing, any earlier prediction ('*'), or one assignment's. */
export type ReuseFrom = string | null;

/**
 * `--no-reuse`: no stored result of another assignment is reused. `ownId` names the assignment, whose own
 * results stay reusable so its retries and automatic retry rounds run only what failed; null (a dry run
 * of an assignment not started yet) reuses nothing.
 */
export interface Fresh {
  ownId: string | null;
}

/** How one batch of samples will be handled, decided from what MongoDB already holds. */
export interface Classified {
  prepared: PreparedSample[];
  /** Scores of reused results, for the per-assignment sample records. */
  reusedScores: Map<string, { value: number; passed?: boolean } | null>;
  /** Figures of reused results, copied into the sample records as well. */
  reusedFigures: Map<string, ResultFigures>;
  /** Searchable texts of reused results (searchTextOf), copied into the sample records too. */
  reusedTexts: Map<string, string>;
}

/**
 * The scheduler's rules, in one place: a key that succeeded before is reused (in infer mode, any stored
 * prediction of the same request is); in eval mode, or with --reuse, the latest stored prediction of the
 * same request is scored instead of calling the model. Failed results are never reused. With `fresh`
 * (--no-reuse) only the assignment's own results count.
 */
export async function classifyBatch(
  store: Store, mode: RunMode, reuseFrom: ReuseFrom, keyed: Array<[number, KeyedSample]>, fresh: Fresh | null = null,
): Promise<Classified> {
  const reusedScores = new Map<string, { value: number; passed?: boolean } | null>();
  const reusedFigures = new Map<string, ResultFigures>();
  const reusedTexts = new Map<string, string>();
  const keys = [...new Set(keyed.map(([, k]) => k.sampleKey))];
  const inferenceKeys = [...new Set(keyed.map(([, k]) => k.inferenceKey))];
  const from = fresh ? fresh.ownId : reuseFrom;
  const wantsPredictions = mode === 'infer' || mode === 'eval' || reuseFrom !== null;
  const predictions = wantsPredictions && (!fresh || fresh.ownId) ? await latestPredictions(store, inferenceKeys, from) : new Map<string, string>();
  if (mode !== 'infer' && (!fresh || fresh.ownId)) {
    const stored = await findByIds(store, store.results, keys, { _id: 1, score: 1, status: 1, latencyMs: 1, usage: 1, cost: 1, assignments: 1, input: 1, prediction: 1 });
    const done = stored.filter((d) => d.status === 'succeeded' && (!fresh || (d.assignments ?? []).includes(fresh.ownId as string)));
    for (const d of done) {
      reusedScores.set(d._id, d.score ? { value: d.score.value, passed: d.score.passed } : null);
      reusedFigures.set(d._id, figuresOf(d));
      reusedTexts.set(d._id, searchTextOf(d.input, d.prediction));
    }
  }
  const prepared = keyed.map(([index, k]): PreparedSample => {
    const base = { index, sampleKey: k.sampleKey, inferenceKey: k.inferenceKey };
    if (mode === 'infer') {
      const reused = predictions.has(k.inferenceKey);
      if (reused) reusedScores.set(k.sampleKey, null);
      return { ...base, reused, predictionFrom: null };
    }
    if (reusedScores.has(k.sampleKey)) return { ...base, reused: true, predictionFrom: null };
    return { ...base, reused: false, predictionFrom: predictions.get(k.inferenceKey) ?? null };
  });
  return { prepared, reusedScores, reusedFigures, reusedTexts };
}

/** The newest stored result with a prediction for each inference key, optionally from one assignment only. */
export async function latestPredictions(store: Store, inferenceKeys: string[], reuseFrom: ReuseFrom): Promise<Map<string, string>> {
  const filter: Filter<ResultDoc> = {
    inferenceKey: { $in: inferenceKeys },
    status: { $in: ['succeeded', 'inferred'] },
    prediction: { $type: 'string' },
  };
  if (reuseFrom && reuseFrom !== '*') filter.assignments = reuseFrom;
  const docs = await store.results.find(filter, { projection: { _id: 1, inferenceKey: 1, finishedAt: 1 } }).toArray();
  const newest = new Map<string, { id: string; at: number }>();
  for (const d of docs) {
    const at = d.finishedAt ? new Date(d.finishedAt).getTime() : 0;
    const known = newest.get(d.inferenceKey);
    if (!known || at > known.at) newest.set(d.inferenceKey, { id: d._id, at });
  }
  return new Map([...newest].map(([ik, v]) => [ik, v.id]));
}
