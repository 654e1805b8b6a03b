import type { Command } from 'commander';
import { devCommand } from './dev';
import { startCommand } from './start';
import { statusCommand } from './status';
import { watchCommand } from './watch';
import { listCommand } from './list';
import { pauseCommand, resumeCommand } from './pause';
import { cancelCommand } from './cancel';
import { workerCommand } from './worker';
import { reportCommand } from './report';
import { exportCommand } from './export';
import { leaderboardCommand } from './leaderboard';
import { eventsCommand } from './events';
import { workersCommand } from './workers';
import { validateCommand } from './validate';
import { retryCommand } from './retry';
import { syncCommand } from './sync';
import { runCommand } from './run';
import { sessionsCommand } from './sessions';
import { viewCommand } from './view';
import { setupCommand } from './setup';

/**
 * The list of commands. Each command lives in its own file and exports `xxxCommand(): Command`;
 * add it here, in the order `evalctl --help` should show it.
 */
export function registerCommands(program: Command): void {
  const factories: Array<() => Command> = [
    validateCommand, startCommand, runCommand, statusCommand, watchCommand, listCommand, pauseCommand, resumeCommand, cancelCommand, retryCommand, syncCommand, reportCommand, exportCommand, leaderboardCommand, viewCommand, eventsCommand, sessionsCommand, workerCommand, workersCommand, setupCommand, devCommand,
  ];
  for (const make of factories) program.addCommand(inheritErrorHandling(make()));
}

/** Subcommands do not inherit exitOverride: without it a bad flag would exit 1 from inside commander. */
function inheritErrorHandling(cmd: Command): Command {
  cmd.exitOverride().showSuggestionAfterError(true);
  for (const sub of cmd.commands) inheritErrorHandling(sub);
  return cmd;
}
