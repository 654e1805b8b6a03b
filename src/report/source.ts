import { findByIds, type Store } from '../store/store';
import type { AssignmentDoc, LeaderboardDoc } from '../store/documents';
import { DETAIL_RESULT_PROJECTION, detailRow, type DetailResult, type DetailRow } from './details';
import { UNKNOWN_TASK_KEY, computeLeaderboards, type LeaderboardCandidate } from './leaderboard';
import { buildSummary, type SummaryTable } from './summary';

/**
 * Reads what reports, exports and leaderboards need from MongoDB. Samples are streamed in pages joined
 * with their results, so memory stays flat whatever the number of samples.
 */

/** Page size of sample/result joins. */
export const DETAIL_PAGE = 500;

/** The summary table of a stored assignment. */
export async function loadSummary(store: Store, assignment: AssignmentDoc): Promise<SummaryTable> {
  const jobs = await store.jobs.find({ assignmentId: assignment._id }).sort({ _id: 1 }).toArray();
  return buildSummary(assignment, jobs);
}

/** Which samples to stream: one job, or every job of the assignment. */
export interface DetailScope {
  assignmentId: string;
  jobId?: string;
}

type DetailSample = { modelId: string; taskId: string; index: number; sampleKey: string; epoch?: number; status: DetailRow['status'] };

/**
 * Every sample of an assignment (or of one of its jobs), ordered by job and index, joined with its
 * result. `onPage` runs after each page (activities heartbeat there).
 */
export async function* iterateDetails(store: Store, scope: DetailScope, onPage?: () => void): AsyncGenerator<DetailRow> {
  const filter = scope.jobId ? { assignmentId: scope.assignmentId, jobId: scope.jobId } : { assignmentId: scope.assignmentId };
  const cursor = store.samples
    .find(filter, { projection: { modelId: 1, taskId: 1, jobId: 1, index: 1, sampleKey: 1, epoch: 1, status: 1 } })
    .sort({ jobId: 1, index: 1 }) as AsyncIterable<DetailSample> & { close(): Promise<void> };
  for await (const [s, result] of withResults<DetailSample, DetailResult>(store, cursor, DETAIL_RESULT_PROJECTION, onPage)) {
    yield detailRow(s, result);
  }
}

/**
 * Sample records from a cursor, each joined with its stored result (`projection` of it), read a page at a
 * time by `_id`; `onPage` runs after each page (activities heartbeat there). Closes the cursor.
 */
export async function* withResults<S extends { sampleKey: string }, R>(
  store: Store, cursor: AsyncIterable<S> & { close(): Promise<void> }, projection: Record<string, number>, onPage?: () => void,
): AsyncGenerator<[S, R | undefined]> {
  let page: S[] = [];
  const drain = async function* (): AsyncGenerator<[S, R | undefined]> {
    const results = await findByIds(store, store.results, [...new Set(page.map((p) => p.sampleKey))], projection);
    const byKey = new Map(results.map((r) => [r._id, r as R]));
    const rows = page.map((p): [S, R | undefined] => [p, byKey.get(p.sampleKey)]);
    page = [];
    onPage?.();
    yield* rows;
  };
  try {
    for await (const s of cursor) {
      page.push(s);
      if (page.length >= DETAIL_PAGE) yield* drain();
    }
    if (page.length > 0) yield* drain();
  } finally {
    await cursor.close();
  }
}

/** Completed jobs of completed assignments on one task, as leaderboard candidates. */
export async function loadCandidates(store: Store, taskId: string): Promise<LeaderboardCandidate[]> {
  const jobs = await store.jobs
    .find({ taskId, status: 'completed' }, { projection: { assignmentId: 1, jobId: 1, modelId: 1, taskId: 1, counts: 1, metrics: 1, overall: 1, taskKey: 1, taskLabel: 1 } })
    .toArray();
  const scored = jobs.filter((j) => j.metrics?.score && j.metrics.score.n > 0);
  if (scored.length === 0) return [];
  const ids = [...new Set(scored.map((j) => j.assignmentId))];
  const ended = new Map<string, Date>();
  const assignments = store.assignments.find({ _id: { $in: ids }, status: 'completed' }, { projection: { endedAt: 1, updatedAt: 1 } });
  for await (const a of assignments) ended.set(a._id, a.endedAt ?? a.updatedAt);
  return scored.flatMap((j) => {
    const endedAt = ended.get(j.assignmentId);
    const score = j.metrics?.score;
    if (!endedAt || !score) return [];
    return [{
      modelId: j.modelId, taskId: j.taskId, assignmentId: j.assignmentId, jobId: j.jobId, score, counts: j.counts, endedAt, overall: j.overall,
      taskKey: j.taskKey ?? UNKNOWN_TASK_KEY, taskLabel: j.taskLabel ?? 'runs before setups were recorded',
    }];
  });
}

/**
 * Rebuilds the leaderboards of each task (one per comparable setup) from scratch and replaces the stored
 * ones: idempotent, so a retried finalisation or two assignments ending at once converge on the same boards.
 */
export async function rebuildLeaderboards(store: Store, taskIds: readonly string[], rebuiltBy: string | null): Promise<LeaderboardDoc[]> {
  const boards: LeaderboardDoc[] = [];
  for (const taskId of [...new Set(taskIds)]) {
    const fresh = computeLeaderboards(taskId, await loadCandidates(store, taskId), rebuiltBy);
    for (const board of fresh) await store.leaderboards.replaceOne({ _id: board._id }, board, { upsert: true });
    // Boards of setups with no completed job left, and the one-board-per-task documents of before.
    await store.leaderboards.deleteMany({ $or: [{ taskId }, { _id: taskId }], _id: { $nin: fresh.map((b) => b._id) } });
    boards.push(...fresh);
  }
  return boards;
}

/** Stored leaderboards, one task (every setup of it) or all, ordered by task id then newest setup first. */
export async function readLeaderboards(store: Store, taskId?: string): Promise<LeaderboardDoc[]> {
  const boards = await store.leaderboards.find(taskId ? { taskId } : {}).toArray();
  const newest = (b: LeaderboardDoc): number => Math.max(0, ...b.entries.map((e) => e.endedAt.getTime()));
  return boards.sort((a, b) => a.taskId.localeCompare(b.taskId) || newest(b) - newest(a) || a._id.localeCompare(b._id));
}

/** Every task id that has completed jobs, for a full rebuild. */
export async function knownTaskIds(store: Store): Promise<string[]> {
  const ids = await store.jobs.distinct('taskId', { status: 'completed' });
  return ids.filter((x): x is string => typeof x === 'string').sort();
}
