import { Command, Option } from 'commander';
import { REPORT_FORMATS, type ReportFormat } from '../report/format';
import { writeReport } from '../report/render';
import { iterateDetails, loadSummary } from '../report/source';
import { findAssignment, withServices } from './services';

interface ReportOptions {
  format: ReportFormat;
  details?: boolean;
}

/**
 * `evalctl report <id>`: the summary table (models as rows, tasks as columns, mean [95% CI]) from the
 * stored job aggregates; `--details` adds every sample, streamed from MongoDB.
 */
export function reportCommand(): Command {
  return new Command('report')
    .description('summary table of an assignment: models as rows, tasks as columns')
    .argument('<id>', 'assignment id')
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('table'))
    .option('--details', 'add every sample (input, prediction, target, score, error); with csv, print only the samples')
    .action(async (id: string, opts: ReportOptions, command: Command) => {
      await withServices(command, async ({ store }) => {
        const assignment = await findAssignment(store, id);
        const table = await loadSummary(store, assignment);
        const details = opts.details ? iterateDetails(store, { assignmentId: assignment._id }) : undefined;
        await writeReport((chunk) => void process.stdout.write(chunk), table, opts.format, details);
      });
    });
}
