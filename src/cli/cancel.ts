import { Command } from 'commander';
import { cancelAssignment } from '../control/control';
import { isTerminal } from '../contracts';
import { RunFailedError, UsageError } from './errors';
import { findAssignment, printJson, withServices } from './services';

interface CancelOptions {
  all?: boolean;
  wait: string;
  json?: boolean;
}

/** `evalctl cancel <id>` or `cancel --all`: cancel, then wait for the final status. */
export function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel an assignment (or every running one with --all); finalisation still runs')
    .argument('[id]', 'assignment id')
    .option('--all', 'cancel every assignment that has not ended')
    .option('--wait <seconds>', 'how long to wait for the final status (exit 1 if it has not come; 0: only request the cancel)', '60')
    .option('--json', 'print the outcome as JSON')
    .action(async (id: string | undefined, opts: CancelOptions, command: Command) => {
      if (Boolean(id) === Boolean(opts.all)) throw new UsageError('give an assignment id or --all (not both)');
      const waitSeconds = opts.wait.trim() === '' ? NaN : Number(opts.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait: expected seconds (a number >= 0), got "${opts.wait}"`);
      await withServices(command, async ({ store, temporal }) => {
        const docs = opts.all
          ? await store.assignments.find({ status: { $in: ['pending', 'running', 'paused'] } }).toArray()
          : [await findAssignment(store, id as string)];
        const outcomes = await Promise.all(docs.map(async (doc) => ({ assignmentId: doc._id, status: await cancelAssignment(store, temporal, doc, waitSeconds * 1000) })));
        if (opts.json) printJson(outcomes);
        else if (outcomes.length === 0) process.stdout.write('nothing to cancel\n');
        else for (const o of outcomes) process.stdout.write(`${o.assignmentId}: ${o.status}\n`);
        // With --wait 0 the cancel is only requested; otherwise an assignment still running is a failed wait.
        const open = outcomes.filter((o) => !isTerminal(o.status));
        if (waitSeconds > 0 && open.length > 0) {
          throw new RunFailedError(`cancel requested, but ${open.map((o) => o.assignmentId).join(', ')} had not ended after ${waitSeconds} s (its workers may be down or busy finalising); \`evalctl status <id>\` shows where it stands`);
        }
      });
    });
}
