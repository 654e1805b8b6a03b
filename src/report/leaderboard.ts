import type { Counts } from '../contracts';
import type { LeaderboardDoc, LeaderboardEntry, MetricSummary } from '../store/documents';
import { alignedTable, csvLine, csvNumber, mdTable, overallText, scoreText, type ReportFormat } from './format';

/**
 * Leaderboards: per task and comparable setup (same samples, prompt and scorer: the task key), each
 * model's latest completed score with its 95% interval, best first. "Latest" is by the ending time of the
 * assignment, so a better (or worse) new run of the same setup replaces the old one; a smoke run with a
 * limit, or another scorer, stands on a board of its own.
 */

/** The task key of jobs planned before task keys were recorded: they share one board per task. */
export const UNKNOWN_TASK_KEY = 'unknown';

/** A completed job that may stand on a leaderboard. */
export interface LeaderboardCandidate {
  modelId: string;
  taskId: string;
  assignmentId: string;
  jobId: string;
  /** What makes the score comparable (comparableTaskKey); UNKNOWN_TASK_KEY for older jobs. */
  taskKey: string;
  taskLabel: string;
  score: MetricSummary;
  counts: Counts;
  endedAt: Date;
  overall?: unknown;
}

/** Keeps each model's latest candidate (ties broken by assignment id, so the result is deterministic). */
export function latestPerModel(candidates: readonly LeaderboardCandidate[]): LeaderboardCandidate[] {
  const best = new Map<string, LeaderboardCandidate>();
  for (const c of candidates) {
    const known = best.get(c.modelId);
    const newer = !known || c.endedAt.getTime() > known.endedAt.getTime()
      || (c.endedAt.getTime() === known.endedAt.getTime() && c.assignmentId > known.assignmentId);
    if (newer) best.set(c.modelId, c);
  }
  return [...best.values()];
}

/** Ranks entries by mean score, best first; equal means share a rank and are listed by model id. */
export function rankEntries(latest: readonly LeaderboardCandidate[]): LeaderboardEntry[] {
  const sorted = [...latest].sort((a, b) => b.score.mean - a.score.mean || a.modelId.localeCompare(b.modelId));
  const entries: LeaderboardEntry[] = [];
  sorted.forEach((c, i) => {
    const prev = entries[i - 1];
    const rank = prev && prev.score.mean === c.score.mean ? prev.rank : i + 1;
    entries.push({
      rank, modelId: c.modelId, assignmentId: c.assignmentId, jobId: c.jobId, score: c.score, counts: c.counts, endedAt: c.endedAt,
      ...(c.overall === undefined || c.overall === null ? {} : { overall: c.overall }),
    });
  });
  return entries;
}

/** The `_id` of the board of one task key of a task. */
export function boardIdOf(taskId: string, taskKey: string): string {
  return `${taskId}@${taskKey.slice(0, 16)}`;
}

/** The leaderboards of one task, one per task key, from every candidate job of that task; ordered by the newest entry first. */
export function computeLeaderboards(taskId: string, candidates: readonly LeaderboardCandidate[], rebuiltBy: string | null, now = new Date()): LeaderboardDoc[] {
  const groups = new Map<string, LeaderboardCandidate[]>();
  for (const c of candidates) if (c.taskId === taskId) groups.set(c.taskKey, [...(groups.get(c.taskKey) ?? []), c]);
  const newest = (list: LeaderboardCandidate[]): number => Math.max(...list.map((c) => c.endedAt.getTime()));
  return [...groups.entries()]
    .sort(([ka, a], [kb, b]) => newest(b) - newest(a) || ka.localeCompare(kb))
    .map(([taskKey, group]) => ({
      _id: boardIdOf(taskId, taskKey), taskId, taskKey, taskLabel: group.reduce((x, c) => (c.endedAt > x.endedAt ? c : x)).taskLabel,
      entries: rankEntries(latestPerModel(group)), rebuiltBy, updatedAt: now,
    }));
}

const HEADER = ['task', 'setup', 'rank', 'model', 'score', 'ci95_low', 'ci95_high', 'n', 'assignment', 'ended'];

function titleOf(board: LeaderboardDoc): string {
  return board.taskLabel ? `${board.taskId} (${board.taskLabel})` : board.taskId;
}

function rowsOf(boards: readonly LeaderboardDoc[]): Array<{ board: LeaderboardDoc; e: LeaderboardEntry }> {
  return boards.flatMap((board) => board.entries.map((e) => ({ board, e })));
}

/** Renders leaderboards in one of the report formats; JSON keeps dates as ISO strings. */
export function renderLeaderboards(boards: readonly LeaderboardDoc[], format: ReportFormat): string {
  const rows = rowsOf(boards);
  if (format === 'json') {
    return `${JSON.stringify(boards.map((b) => ({ taskId: b.taskId, taskKey: b.taskKey ?? UNKNOWN_TASK_KEY, setup: b.taskLabel ?? null, updatedAt: b.updatedAt, entries: b.entries })), null, 2)}\n`;
  }
  if (format === 'csv') {
    const lines = rows.map(({ board, e }) => csvLine([
      board.taskId, board.taskLabel ?? '', String(e.rank), e.modelId, csvNumber(e.score.mean), csvNumber(e.score.ci95[0]), csvNumber(e.score.ci95[1]),
      String(e.score.n), e.assignmentId, e.endedAt.toISOString(),
    ]));
    return `${[csvLine(HEADER), ...lines].join('\n')}\n`;
  }
  if (boards.length === 0) return 'no leaderboards yet: they are built when an assignment ends\n';
  const withOverall = rows.some(({ e }) => e.overall !== undefined);
  const people = (all: typeof rows): string[][] => all.map(({ e }) => [
    String(e.rank), e.modelId, scoreText(e.score), String(e.score.n), e.assignmentId, e.endedAt.toISOString(), ...(withOverall ? [overallText(e.overall)] : []),
  ]);
  const header = ['rank', 'model', 'score [95% CI]', 'n', 'assignment', 'ended', ...(withOverall ? ['environment overall'] : [])];
  const parts = boards.map((b) => {
    const body = people(rowsOf([b]));
    if (format === 'md') return `## ${titleOf(b)}\n\n${mdTable(header, body)}\n`;
    return `${titleOf(b)}\n${alignedTable(header, body)}\n`;
  });
  return `${parts.join('\n')}`;
}
