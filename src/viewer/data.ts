import { findByIds, type Store } from '../store/store';
import type { AssignmentDoc, JobDoc, ResultDoc, SampleDoc } from '../store/documents';
import type { DigestCache } from './digest-cache';

/** What every page handler gets: the store, the digests, and where the Temporal Web UI is. */
export interface ViewerContext {
  store: Store;
  digests: DigestCache;
  /** Base URL of the Temporal Web UI (EVALCTL_UI_URL or the dev stack's default). */
  uiBase: string;
  namespace: string;
}

/** A page asked for something that does not exist: rendered as a 404 naming it. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/** A query parameter is malformed: rendered as a 400 naming it. */
export class BadRequest extends Error {
  override name = 'BadRequest';
}

/** An assignment by id, or NotFound. */
export async function loadAssignment(store: Store, id: string): Promise<AssignmentDoc> {
  const doc = await store.assignments.findOne({ _id: id });
  if (!doc) throw new NotFound(`no assignment "${id}"`);
  return doc;
}

/** A job of an assignment by its job id (`model/task`), read by `_id`, or NotFound. */
export async function loadJob(store: Store, assignmentId: string, jobId: string): Promise<JobDoc> {
  const doc = await store.jobs.findOne({ _id: `${assignmentId}/${jobId}` });
  if (!doc) throw new NotFound(`no job "${jobId}" in assignment "${assignmentId}"`);
  return doc;
}

/** The jobs of an assignment, ordered by job id. */
export async function loadJobs(store: Store, assignmentId: string): Promise<JobDoc[]> {
  return store.jobs.find({ assignmentId }).sort({ _id: 1 }).toArray();
}

/** The `_id` of the record of one sample index of a job. */
export function sampleRecordId(job: Pick<JobDoc, 'assignmentId' | 'jobId'>, index: number): string {
  return `${job.assignmentId}/${job.jobId}/${index}`;
}

/** Fields of a result the sample list shows (not the transcript: it can be long). */
export const LIST_RESULT_PROJECTION = {
  sampleId: 1, input: 1, prediction: 1, target: 1, score: 1, error: 1, errorType: 1, latencyMs: 1, usage: 1, cost: 1, attempts: 1,
} as const;

/** What a list row needs of a sample record (a digest row has it too). */
export type ListSample = Pick<SampleDoc, 'index' | 'status' | 'score' | 'passed' | 'sampleKey'>;

/** One row of a sample list: the sample record (absent while it has not finished) and its result. */
export interface ListRow {
  index: number;
  sample: ListSample | null;
  result: ResultDoc | null;
}

/**
 * The sample records and results of some indexes of a job, in the order given, each read by `_id`. With
 * the job's digest at hand the records come from it, and only the results are read.
 */
export async function loadRows(store: Store, job: Pick<JobDoc, 'assignmentId' | 'jobId'>, indexes: readonly number[], digest?: readonly ListSample[]): Promise<ListRow[]> {
  const samples: ListSample[] = digest
    ? indexes.map((i) => digest[i]?.index === i ? digest[i] : digest.find((r) => r.index === i)).filter((r): r is ListSample => !!r)
    : await findByIds(store, store.samples, indexes.map((i) => sampleRecordId(job, i)));
  const byIndex = new Map(samples.map((s) => [s.index, s]));
  const results = await findByIds(store, store.results, samples.map((s) => s.sampleKey), LIST_RESULT_PROJECTION);
  const byKey = new Map(results.map((r) => [r._id, r]));
  return indexes.map((index) => {
    const sample = byIndex.get(index) ?? null;
    return { index, sample, result: sample ? byKey.get(sample.sampleKey) ?? null : null };
  });
}
