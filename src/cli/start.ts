import { Command, Option } from 'commander';
import { AssignmentExistsError, startAssignment } from '../control/start';
import { uiBaseUrl, workflowUiUrl } from '../temporal/client';
import { addConfigInputOptions, loadConfigInput, type ConfigInputOptions } from './config-input';
import { UsageError } from './errors';
import { checkAssignmentId, printJson, withServices } from './services';
import { watchAssignment } from './watch';

interface StartOptions extends ConfigInputOptions {
  id?: string;
  watch?: boolean;
  json?: boolean;
  mode: 'all' | 'infer' | 'eval' | 'report';
}

/** `evalctl start`: validates a config, snapshots it to MongoDB and starts the assignment workflow. */
export function startCommand(): Command {
  const cmd = new Command('start')
    .description('start an assignment from a config file (or --models/--tasks) as a durable workflow')
    .argument('[config]', 'assignment YAML file')
    .option('--id <id>', 'assignment id (default: <name>-<timestamp>-<random>)')
    .addOption(new Option('--mode <mode>', 'stages to run').choices(['all', 'infer', 'eval', 'report']).default('all'))
    .option('--watch', 'follow progress until the assignment ends')
    .option('--json', 'print {assignmentId, workflowId, uiUrl} as JSON on stdout');
  addConfigInputOptions(cmd);
  return cmd.action(async (configPath: string | undefined, opts: StartOptions, command: Command) => {
    if (opts.id !== undefined) checkAssignmentId(opts.id, '--id');
    const loaded = await loadConfigInput(configPath, opts);
    await withServices(command, async ({ store, temporal, connection }) => {
      const started = await startAssignment(store, temporal, { config: loaded.config, sourcePath: loaded.sourcePath, assignmentId: opts.id, mode: opts.mode })
        .catch((err: unknown) => {
          if (err instanceof AssignmentExistsError) throw new UsageError(`--id: ${err.message}`);
          throw err;
        });
      const uiUrl = workflowUiUrl(uiBaseUrl(), connection.temporalNamespace, started.workflowId);
      if (opts.json) printJson({ ...started, uiUrl });
      else process.stdout.write(`started ${started.assignmentId}\n  workflow: ${started.workflowId}\n  web ui:   ${uiUrl}\n`);
      if (opts.watch) await watchAssignment(store, temporal, started.assignmentId);
    });
  });
}
