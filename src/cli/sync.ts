import { Command } from 'commander';
import { syncWithTemporal } from '../control/sync';
import { printJson, withServices } from './services';

/** `evalctl sync`: repairs MongoDB statuses from Temporal and prints what it changed. */
export function syncCommand(): Command {
  return new Command('sync')
    .description('reconcile MongoDB with Temporal: fix assignments and jobs stored as running whose workflow has closed')
    .option('--dry-run', 'print what would change without changing it')
    .option('--json', 'print the changes as JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withServices(command, async ({ store, temporal }) => {
        const changes = await syncWithTemporal(store, temporal, { dryRun: opts.dryRun });
        if (opts.json) return printJson(changes);
        if (changes.length === 0) return void process.stdout.write('in sync: nothing to change\n');
        const verb = opts.dryRun ? 'would change' : 'changed';
        for (const c of changes) process.stdout.write(`${verb} ${c.kind} ${c.id}: ${c.from} -> ${c.to} (${c.reason})\n`);
      });
    });
}
