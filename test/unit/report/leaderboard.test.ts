import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounts } from '../../../src/contracts';
import { computeLeaderboards, renderLeaderboards, type LeaderboardCandidate } from '../../../src/report/leaderboard';
import type { LeaderboardDoc } from '../../../src/store/documents';
import { parseCsv } from '../../../src/report/format';
import { EventFollower } from '../../../src/report/events';
import { exportDirOf } from '../../../src/report/export';
import type { EventDoc } from '../../../src/store/documents';

function cand(modelId: string, mean: number, endedAt: string, assignmentId = `a-${modelId}-${endedAt}`, taskId = 't', taskKey = 'k-full'): LeaderboardCandidate {
  return {
    modelId, taskId, assignmentId, jobId: `${modelId}/${taskId}`, counts: emptyCounts(10), taskKey, taskLabel: `exact, ${taskKey}`,
    score: { n: 10, mean, ci95: [mean - 0.1, mean + 0.1], method: 'wilson' }, endedAt: new Date(endedAt),
  };
}

/** The one board of a task whose candidates share one setup. */
function computeLeaderboard(taskId: string, candidates: LeaderboardCandidate[], rebuiltBy: string | null): LeaderboardDoc {
  const boards = computeLeaderboards(taskId, candidates, rebuiltBy);
  assert.equal(boards.length, 1);
  return boards[0];
}

test('a smoke run with a limit, or another scorer, stands on a board of its own: the full run keeps its place', () => {
  const boards = computeLeaderboards('t', [
    cand('m0', 0.7, '2024-01-01T00:00:00Z', 'full'),
    cand('m0', 1, '2024-01-02T00:00:00Z', 'smoke', 't', 'k-limit-2'),
    cand('m1', 0.2, '2024-01-03T00:00:00Z', 'judge', 't', 'k-judge'),
  ], null);
  assert.deepEqual(boards.map((b) => [b.taskKey, b.entries.map((e) => [e.modelId, e.assignmentId])]), [
    ['k-judge', [['m1', 'judge']]], ['k-limit-2', [['m0', 'smoke']]], ['k-full', [['m0', 'full']]],
  ]);
  assert.equal(new Set(boards.map((b) => b._id)).size, 3);
  assert.match(renderLeaderboards(boards, 'table'), /^t \(exact, k-judge\)\n/);
});

test("each model's latest completed run counts, even when an older one scored higher", () => {
  const board = computeLeaderboard('t', [
    cand('m0', 0.9, '2024-01-01T00:00:00Z'),
    cand('m0', 0.4, '2024-01-02T00:00:00Z'),
    cand('m1', 0.6, '2024-01-01T00:00:00Z'),
    cand('m2', 0.99, '2024-01-03T00:00:00Z', 'x', 'other-task'),
  ], 'a9');
  assert.deepEqual(board.entries.map((e) => [e.rank, e.modelId, e.score.mean]), [[1, 'm1', 0.6], [2, 'm0', 0.4]]);
  assert.equal(board.rebuiltBy, 'a9');
});

test('a better new run moves a model up; equal means share a rank', () => {
  const before = computeLeaderboard('t', [cand('m0', 0.4, '2024-01-01T00:00:00Z'), cand('m1', 0.6, '2024-01-01T00:00:00Z'), cand('m2', 0.6, '2024-01-01T00:00:00Z')], null);
  assert.deepEqual(before.entries.map((e) => [e.rank, e.modelId]), [[1, 'm1'], [1, 'm2'], [3, 'm0']]);
  const after = computeLeaderboard('t', [...before.entries.map((e) => cand(e.modelId, e.score.mean, e.endedAt.toISOString(), e.assignmentId)), cand('m0', 0.8, '2024-02-01T00:00:00Z')], null);
  assert.equal(after.entries[0].modelId, 'm0');
  assert.equal(after.entries[0].score.mean, 0.8);
});

test('leaderboards render as csv rows that parse, and as json', () => {
  const board = computeLeaderboard('t', [cand('m0', 0.5, '2024-01-01T00:00:00Z')], null);
  const rows = parseCsv(renderLeaderboards([board], 'csv'));
  assert.deepEqual(rows[0], ['task', 'setup', 'rank', 'model', 'score', 'ci95_low', 'ci95_high', 'n', 'assignment', 'ended']);
  assert.deepEqual(rows[1].slice(0, 8), ['t', 'exact, k-full', '1', 'm0', '0.5', '0.4', '0.6', '10']);
  const json = JSON.parse(renderLeaderboards([board], 'json')) as Array<{ taskId: string; entries: Array<{ modelId: string }> }>;
  assert.equal(json[0].entries[0].modelId, 'm0');
  assert.match(renderLeaderboards([board], 'table'), /1\s+m0\s+0\.500 \[0\.400, 0\.600\]/);
});

test('the follower shows each event once, including one stamped before the newest seen', () => {
  const f = new EventFollower(30_000);
  const ev = (id: string, t: number): EventDoc => ({ _id: id, assignmentId: 'a', type: 'x', at: new Date(t) });
  assert.deepEqual(f.fresh([ev('b', 2000), ev('a', 1000)]).map((e) => e._id), ['a', 'b']);
  assert.equal(f.since()?.getTime(), 2000 - 30_000);
  assert.deepEqual(f.fresh([ev('a', 1000), ev('b', 2000), ev('late', 1500)]).map((e) => e._id), ['late']);
});

test('export folders resolve {NAME} and {TIMESTAMP} from the assignment, relative to the config file', () => {
  const a = { name: 'grid', createdAt: new Date('2024-05-01T10:20:30.456Z'), sourcePath: '/cfg/grid.yaml' };
  assert.equal(exportDirOf(a, 'runs/{NAME}-{TIMESTAMP}'), '/cfg/runs/grid-2024-05-01T102030Z');
  assert.equal(exportDirOf(a, '/abs/{NAME}'), '/abs/grid');
  assert.equal(exportDirOf({ ...a, sourcePath: undefined }, 'out', '/work'), '/work/out');
  assert.equal(exportDirOf({ ...a, sourcePath: '/repo/configs' }, 'out', '/work'), '/work/out');
});
