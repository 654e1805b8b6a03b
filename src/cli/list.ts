import { Command, Option } from 'commander';
import type { Filter } from 'mongodb';
import { ASSIGNMENT_STATUSES, type AssignmentStatus } from '../contracts';
import type { AssignmentDoc } from '../store/documents';
import { UsageError } from './errors';
import { printJson, withServices } from './services';

/**
 * The MongoDB filter of `list --status`: a paused assignment is stored as running (or pending) with its
 * pause flag set, so `paused` is the flag and `running`/`pending` are those without it.
 */
export function listFilter(status: AssignmentStatus | undefined): Filter<AssignmentDoc> {
  if (!status) return {};
  if (status === 'paused') return { status: { $in: ['pending', 'running', 'paused'] }, paused: true };
  if (status === 'running' || status === 'pending') return { status, paused: { $ne: true } };
  return { status };
}

/** How `list` and `status` show a stored assignment's status: paused while its flag is set and it has not ended. */
export function shownStatus(doc: Pick<AssignmentDoc, 'status' | 'paused'>): AssignmentStatus {
  return doc.paused && (doc.status === 'running' || doc.status === 'pending') ? 'paused' : doc.status;
}

/** `evalctl list`: the most recent assignments, newest first, optionally of one status. */
export function listCommand(): Command {
  return new Command('list')
    .description('list assignments, newest first')
    .addOption(new Option('--status <status>', 'only assignments with this status').choices([...ASSIGNMENT_STATUSES]))
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON on stdout')
    .action(async (opts: { status?: string; limit: string; json?: boolean }, command: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit: expected a whole number from 1 to 10000, got "${opts.limit}"`);
      await withServices(command, async ({ store }) => {
        const docs = await store.assignments.find(listFilter(opts.status as AssignmentStatus | undefined), { projection: { config: 0 } }).sort({ createdAt: -1 }).limit(limit).toArray();
        const rows = docs.map((d) => ({
          assignmentId: d._id, name: d.name, status: shownStatus(d),
          counts: d.counts, createdAt: d.createdAt.toISOString(), endedAt: d.endedAt?.toISOString(),
        }));
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write('no assignments\n');
        for (const r of rows) process.stdout.write(`${r.assignmentId.padEnd(40)} ${r.status.padEnd(10)} ${String(r.counts.total).padStart(7)} samples  ${r.createdAt}\n`);
      });
    });
}
