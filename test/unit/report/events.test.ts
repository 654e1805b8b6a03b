import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFollower } from '../../../src/report/events';
import type { EventDoc } from '../../../src/store/documents';

const ev = (id: string, t: number): EventDoc => ({ _id: id, assignmentId: 'a', type: id, at: new Date(t) });

test('follow with --limit 2: the events the limit left out are never printed as new ones', () => {
  const log = [ev('submitted', 1000), ev('started', 2000), ev('paused', 3000), ev('resumed', 4000), ev('completed', 5000)];
  const f = new EventFollower(30_000);
  const page = [...log].sort((a, b) => b.at.getTime() - a.at.getTime()).slice(0, 2);
  const since = f.sinceAfter(page);
  assert.equal(since?.getTime(), 5000 - 30_000);
  const window = log.filter((e) => e.at >= since!);
  assert.deepEqual(f.first(page, window).map((e) => e._id), ['resumed', 'completed']);
  // The next poll re-reads the window: only the event written since is new, and one stamped late too.
  const next = [...log, ev('finalized', 6000), ev('late', 4500)];
  assert.deepEqual(f.fresh(next).map((e) => e._id), ['late', 'finalized']);
  assert.deepEqual(f.fresh(next), []);
});
