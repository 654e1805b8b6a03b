import { Command, Option } from 'commander';
import { REPORT_FORMATS, type ReportFormat } from '../report/format';
import { renderLeaderboards } from '../report/leaderboard';
import { knownTaskIds, readLeaderboards, rebuildLeaderboards } from '../report/source';
import { SlugSchema } from '../config/schema';
import { UsageError } from './errors';
import { withServices } from './services';

interface LeaderboardOptions {
  task?: string;
  format: ReportFormat;
  rebuild?: boolean;
}

/**
 * `evalctl leaderboard [--task T]`: per task and setup (the same samples, prompt and scorer), each
 * model's latest completed score with its 95% CI, best first. Boards are rebuilt whenever an assignment
 * ends; `--rebuild` recomputes them from the jobs now.
 */
export function leaderboardCommand(): Command {
  return new Command('leaderboard')
    .description('per task and setup (same samples, prompt and scorer), each model\'s latest completed score with its 95% CI')
    .option('--task <task>', 'only this task (every setup of it)')
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('table'))
    .option('--rebuild', 'recompute the boards from the stored jobs before showing them')
    .action(async (opts: LeaderboardOptions, command: Command) => {
      if (opts.task !== undefined && !SlugSchema.safeParse(opts.task).success) throw new UsageError(`--task: "${opts.task}" is not a task id`);
      await withServices(command, async ({ store }) => {
        if (opts.rebuild) await rebuildLeaderboards(store, opts.task ? [opts.task] : await knownTaskIds(store), null);
        const boards = await readLeaderboards(store, opts.task);
        if (opts.task && boards.length === 0 && opts.format !== 'json' && opts.format !== 'csv') {
          throw new UsageError(`no leaderboard for task "${opts.task}" (see \`evalctl leaderboard\`)`);
        }
        process.stdout.write(renderLeaderboards(boards, opts.format));
      });
    });
}
