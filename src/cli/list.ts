import { Command, Option } from 'commander';
import { ASSIGNMENT_STATUSES } from '../contracts';
import { UsageError } from './errors';
import { printJson, withServices } from './services';

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
        const filter = opts.status ? { status: opts.status as (typeof ASSIGNMENT_STATUSES)[number] } : {};
        const docs = await store.assignments.find(filter, { projection: { config: 0 } }).sort({ createdAt: -1 }).limit(limit).toArray();
        const rows = docs.map((d) => ({
          assignmentId: d._id, name: d.name, status: d.paused && d.status === 'running' ? 'paused' : d.status,
          counts: d.counts, createdAt: d.createdAt.toISOString(), endedAt: d.endedAt?.toISOString(),
        }));
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write('no assignments\n');
        for (const r of rows) process.stdout.write(`${r.assignmentId.padEnd(40)} ${r.status.padEnd(10)} ${String(r.counts.total).padStart(7)} samples  ${r.createdAt}\n`);
      });
    });
}
