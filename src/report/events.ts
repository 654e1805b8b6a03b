import type { EventDoc } from '../store/documents';

/** Rendering and follow-by-polling bookkeeping for the lifecycle log (`evalctl events`). */

/** An event as people read it: time, assignment, type and its data as key=value. */
export function eventLine(e: Pick<EventDoc, 'assignmentId' | 'type' | 'at' | 'data'>): string {
  const data = Object.entries(e.data ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${e.at.toISOString()}  ${e.assignmentId}  ${e.type}${data ? `  ${data}` : ''}`;
}

/** An event as scripts read it: dates as ISO strings. */
export function eventJson(e: EventDoc): Record<string, unknown> {
  return { id: e._id, assignmentId: e.assignmentId, type: e.type, at: e.at.toISOString(), ...(e.data ? { data: e.data } : {}) };
}

/**
 * What a follower has shown. Events are stamped by the writer before they are inserted, so one may
 * appear with a time a little before the newest seen; each poll re-reads a window of `lagMs` before
 * the newest time and drops ids already shown. Ids older than the window are forgotten, so memory stays flat.
 */
export class EventFollower {
  private readonly seen = new Map<string, number>();
  private newest = 0;

  constructor(private readonly lagMs = 30_000) {}

  /** The lower bound of `at` of the polls after showing `page` (the window they re-read). */
  sinceAfter(page: readonly EventDoc[]): Date | undefined {
    const newest = Math.max(this.newest, ...page.map((e) => e.at.getTime()));
    return Number.isFinite(newest) && newest > 0 ? new Date(newest - this.lagMs) : undefined;
  }

  /** The lower bound of `at` for the next poll, or undefined for the first one. */
  since(): Date | undefined {
    return this.newest > 0 ? new Date(this.newest - this.lagMs) : undefined;
  }

  /**
   * The first read of a follow: the newest `limit` events (`page`, any order) are shown. With a limit,
   * older events were left out on purpose: those of `window` (the events the next polls will re-read)
   * that sort before the oldest shown one are remembered as shown, so no poll prints them as new.
   */
  first(page: readonly EventDoc[], window: readonly EventDoc[]): EventDoc[] {
    const out = this.fresh(page);
    const oldest = out[0];
    if (!oldest) return out;
    for (const e of window) if (compareEvents(e, oldest) < 0) this.seen.set(e._id, e.at.getTime());
    return out;
  }

  /** The events of a poll not shown yet, in time order; remembers them as shown. */
  fresh(batch: readonly EventDoc[]): EventDoc[] {
    const out = [...batch].filter((e) => !this.seen.has(e._id)).sort(compareEvents);
    for (const e of out) {
      this.seen.set(e._id, e.at.getTime());
      this.newest = Math.max(this.newest, e.at.getTime());
    }
    const horizon = this.newest - 2 * this.lagMs;
    for (const [id, t] of this.seen) if (t < horizon) this.seen.delete(id);
    return out;
  }
}

/** Time order of events, ties by id: the order of `events` and of the follower. */
export function compareEvents(a: Pick<EventDoc, '_id' | 'at'>, b: Pick<EventDoc, '_id' | 'at'>): number {
  return a.at.getTime() - b.at.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
}
