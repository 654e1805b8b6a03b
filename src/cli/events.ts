import { Command } from 'commander';
import type { Filter } from 'mongodb';
import type { EventDoc } from '../store/documents';
import type { Store } from '../store/store';
import { EventFollower, eventJson, eventLine } from '../report/events';
import { UsageError } from './errors';
import { findAssignment, printJson, withServices } from './services';

interface EventsOptions {
  follow?: boolean;
  json?: boolean;
  limit: string;
  intervalMs: string;
}

/** The type of the event that closes an assignment's log: its follow-ups (leaderboards, export, notifications) are done. */
export const LAST_EVENT_TYPE = 'finalized';

function print(e: EventDoc, json: boolean | undefined): void {
  process.stdout.write(json ? `${JSON.stringify(eventJson(e))}\n` : `${eventLine(e)}\n`);
}

/** Polls for new events until the assignment's log is closed (with an id) or forever (without). */
async function follow(store: Store, filter: Filter<EventDoc>, opts: EventsOptions, limit: number, interval: number): Promise<void> {
  const follower = new EventFollower();
  const page = await store.events.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray();
  // Older events that --limit left out must not come back with the next polls' window.
  const since = page.length === limit ? follower.sinceAfter(page) : undefined;
  const window = since ? await store.events.find({ ...filter, at: { $gte: since } }).toArray() : [];
  let closed = false;
  for (const e of follower.first(page, window)) {
    print(e, opts.json);
    if ('assignmentId' in filter && e.type === LAST_EVENT_TYPE) closed = true;
  }
  while (!closed) {
    await new Promise((r) => setTimeout(r, interval));
    const since = follower.since();
    const batch = await store.events.find(since ? { ...filter, at: { $gte: since } } : filter).sort({ at: 1, _id: 1 }).toArray();
    for (const e of follower.fresh(batch)) {
      print(e, opts.json);
      if ('assignmentId' in filter && e.type === LAST_EVENT_TYPE) closed = true;
    }
  }
}

/**
 * `evalctl events [<id>] [--follow]`: the lifecycle log (submitted, started, paused, resumed, sample
 * failures, completed, failed, canceled, exported, notified, notify-failed, finalized), oldest first.
 * `--follow` polls for new events; with an id it stops once the assignment's follow-ups are done.
 */
export function eventsCommand(): Command {
  return new Command('events')
    .description('show the lifecycle log of one assignment or of all, optionally following it')
    .argument('[id]', 'assignment id (default: every assignment)')
    .option('-f, --follow', 'keep polling for new events (with an id: until the assignment is finalized)')
    .option('--json', 'JSON on stdout: an array, or one object per line with --follow')
    .option('--limit <n>', 'at most this many past events (the newest)', '1000')
    .option('--interval-ms <ms>', 'polling interval of --follow', '1000')
    .action(async (id: string | undefined, opts: EventsOptions, command: Command) => {
      const limit = Number(opts.limit);
      const interval = Number(opts.intervalMs);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new UsageError(`--limit: expected a whole number from 1 to 1000000, got "${opts.limit}"`);
      if (!Number.isInteger(interval) || interval < 100) throw new UsageError(`--interval-ms: expected a whole number >= 100, got "${opts.intervalMs}"`);
      await withServices(command, async ({ store }) => {
        const filter: Filter<EventDoc> = id ? { assignmentId: (await findAssignment(store, id))._id } : {};
        if (opts.follow) return follow(store, filter, opts, limit, interval);
        const events = (await store.events.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray()).reverse();
        if (opts.json) return printJson(events.map(eventJson));
        if (events.length === 0) return void process.stdout.write('no events\n');
        for (const e of events) print(e, false);
      });
    });
}
