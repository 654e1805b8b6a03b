import { resolve } from 'node:path';
import { Command } from 'commander';
import { exportAssignment } from '../report/export';
import { UsageError } from './errors';
import { findAssignment, printJson, withServices } from './services';

/**
 * `evalctl export <id> -o <dir>`: writes configs/, predictions/<model>/<task>.jsonl,
 * results/<model>/<task>.json, summary.md and summary.csv from MongoDB.
 */
export function exportCommand(): Command {
  return new Command('export')
    .description('write an assignment as a folder: configs, predictions, results, summary.md, summary.csv')
    .argument('<id>', 'assignment id')
    .option('-o, --output <dir>', 'folder to write (created if missing; files in it are replaced)')
    .option('--json', 'print {dir, files, samples} as JSON on stdout')
    .action(async (id: string, opts: { output?: string; json?: boolean }, command: Command) => {
      if (!opts.output) throw new UsageError('-o <dir>: say where to write the export');
      const dir = resolve(opts.output);
      await withServices(command, async ({ store }) => {
        const assignment = await findAssignment(store, id);
        const done = await exportAssignment(store, assignment, dir);
        if (opts.json) return printJson(done);
        process.stdout.write(`exported ${assignment._id} to ${done.dir}: ${done.files.length} files, ${done.samples} samples\n`);
      });
    });
}
