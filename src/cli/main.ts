import { Command, CommanderError } from 'commander';
import { UsageError, RunFailedError } from './errors';
import { registerCommands } from './commands';
import { addConnectionOptions } from '../config/connection';

/**
 * Runs the evalctl CLI and resolves to the process exit code. Only this function decides exit codes:
 * 2 for bad input (flags, ids, configs), 1 for a failed run or an unreachable server, 0 otherwise.
 */
export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  const program = new Command('evalctl')
    .description('Run large evaluations of ML models and LLM agents as durable Temporal workflows.')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  program.option('--verbose', 'show everything: SDK warnings, build output, stack traces (same as EVALCTL_DEBUG=1)');
  program.hook('preAction', (cmd) => {
    if (cmd.opts<{ verbose?: boolean }>().verbose) process.env.EVALCTL_DEBUG = '1';
  });
  addConnectionOptions(program);
  registerCommands(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander; they are successes to people.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  if (err instanceof RunFailedError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.EVALCTL_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
  return 1;
}

let pipeGuarded = false;

/**
 * A reader that goes away early (`evalctl report <id> | head`) closes stdout under us: that ends the
 * output, so the process exits 0 instead of dying on the unhandled EPIPE with a stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
