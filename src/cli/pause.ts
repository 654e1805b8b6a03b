import { Command } from 'commander';
import { WrongStateError, setPaused } from '../control/control';
import { UsageError } from './errors';
import { findAssignment, withServices } from './services';

function pauseOrResume(name: 'pause' | 'resume', paused: boolean, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<id>', 'assignment id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withServices(command, async ({ store, temporal }) => {
        const doc = await findAssignment(store, id);
        await setPaused(store, temporal, doc, paused).catch((err: unknown) => {
          if (err instanceof WrongStateError) throw new UsageError(err.message);
          throw err;
        });
        process.stdout.write(`${paused ? 'paused' : 'resumed'} ${id}\n`);
      });
    });
}

/** `evalctl pause <id>`: no new model call starts; calls in flight finish. */
export function pauseCommand(): Command {
  return pauseOrResume('pause', true, 'pause an assignment: no new model call starts, calls in flight finish');
}

/** `evalctl resume <id>`: model calls start again. */
export function resumeCommand(): Command {
  return pauseOrResume('resume', false, 'resume a paused assignment');
}
