import { Option, type Command } from 'commander';
import { ConfigError, buildAssignmentFromNames, loadAssignmentFile, type LoadedAssignment } from '../config/load';
import { DatasetError } from '../datasets';
import { checkDataset } from '../datasets/check';
import { UsageError } from './errors';

/** The options every command that takes an assignment accepts: a file, or `--models ... --tasks ...`. */
export interface ConfigInputOptions {
  models?: string[];
  tasks?: string[];
  configDir?: string;
}

/** Adds `--models`, `--tasks` and `--config-dir` to a command that takes `[config]`. */
export function addConfigInputOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--models <names...>', 'named models from <config-dir>/models/*.yaml, instead of a config file'))
    .addOption(new Option('--tasks <names...>', 'named tasks from <config-dir>/tasks/*.yaml, instead of a config file'))
    .addOption(new Option('--config-dir <dir>', 'folder with models/ and tasks/ (default: the config file\'s folder, or ./configs)'));
}

/**
 * Loads the assignment a command was given. Config problems become usage errors (exit 2) whose message
 * lists every issue as `file:line:col path: message`.
 */
export async function loadConfigInput(configPath: string | undefined, opts: ConfigInputOptions): Promise<LoadedAssignment> {
  const byName = Boolean(opts.models?.length || opts.tasks?.length);
  if (configPath && byName) throw new UsageError('give either a config file or --models/--tasks, not both');
  if (!configPath && !byName) throw new UsageError('missing config: give a config file, or --models <names...> --tasks <names...>');
  if (byName && (!opts.models?.length || !opts.tasks?.length)) throw new UsageError('--models and --tasks go together: name at least one of each');
  let loaded: LoadedAssignment;
  try {
    if (configPath) loaded = await loadAssignmentFile(configPath, { configDir: opts.configDir });
    else loaded = await buildAssignmentFromNames({ models: opts.models ?? [], tasks: opts.tasks ?? [], configDir: opts.configDir ?? 'configs' });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid config:\n${err.message}`);
    throw err;
  }
  await checkDatasets(loaded);
  return loaded;
}

/** Every task's dataset read once (see checkDataset): a malformed file is bad input, found before anything starts. */
async function checkDatasets(loaded: LoadedAssignment): Promise<void> {
  for (const [i, task] of loaded.config.tasks.entries()) {
    if (!('dataset' in task) || !task.dataset) continue;
    try {
      await checkDataset(task.dataset);
    } catch (err) {
      if (err instanceof DatasetError) throw new UsageError(`invalid dataset of task ${task.id} (${loaded.sourcePath}: tasks[${i}].dataset): ${err.message}`);
      throw err;
    }
  }
}
