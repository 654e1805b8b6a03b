import { Command } from 'commander';
import { WrongStateError } from '../control/control';
import { retryAssignment } from '../control/retry';
import { UsageError } from './errors';
import { findAssignment, printJson, withServices } from './services';
import { watchAssignment } from './watch';

/** `evalctl retry <id>`: re-runs the failed and canceled samples of an ended assignment. */
export function retryCommand(): Command {
  return new Command('retry')
    .description('run the failed and canceled samples of an ended assignment again (successes are reused)')
    .argument('<id>', 'assignment id')
    .option('--watch', 'follow progress until the new run ends')
    .option('--json', 'print {assignmentId, workflowId, retryRun, toRetry} as JSON')
    .action(async (id: string, opts: { watch?: boolean; json?: boolean }, command: Command) => {
      await withServices(command, async ({ store, temporal }) => {
        const doc = await findAssignment(store, id);
        const started = await retryAssignment(store, temporal, doc).catch((err: unknown) => {
          if (err instanceof WrongStateError) throw new UsageError(err.message);
          throw err;
        });
        if (opts.json) printJson(started);
        else process.stdout.write(`retrying ${started.toRetry} samples of ${id} (run ${started.retryRun})\n`);
        if (opts.watch) await watchAssignment(store, temporal, id);
      });
    });
}
