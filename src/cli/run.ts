import { Command } from 'commander';
import type { AssignmentConfig } from '../config/schema';
import { connectionFromCommand } from '../config/connection';
import { startAssignment } from '../control/start';
import { assignmentStatus } from '../control/status';
import type { DebugEvent } from '../../activities/deps';
import { startWorker } from '../worker/run-worker';
import { modelQueuesOf } from '../plan/jobs';
import { loadConfigInput } from './config-input';
import { RunFailedError, UsageError } from './errors';
import { checkAssignmentId, printJson, withServices } from './services';
import { addStartOptions, noReuseOption, printPreview, reuseFromOption, type StartOptions } from './start';
import { formatStatus } from './status';
import { watchAssignment } from './watch';

interface RunOptions extends StartOptions {
  debug?: boolean;
}

/** One sample at a time: every model and the assignment get a concurrency of 1. */
export function oneAtATime(config: AssignmentConfig): AssignmentConfig {
  return {
    ...config,
    concurrency: { ...config.concurrency, global: 1, jobs: 1, perModel: 1, perTask: 1 },
    models: config.models.map((m) => ({ ...m, concurrency: 1 })),
  };
}

function echo(event: DebugEvent): void {
  const target = typeof event.target === 'string' ? event.target : JSON.stringify(event.target);
  process.stderr.write(`--- ${event.jobId} #${event.index}\nprompt:     ${event.prompt}\nprediction: ${event.prediction}\ntarget:     ${target}\nscore:      ${event.score ?? '-'}\n`);
}

/**
 * `evalctl run`: the one-machine runner. Starts the assignment with an all-in-one worker inside this
 * process and follows it to the end; the servers are still the durable ones, so a crash loses nothing.
 */
export function runCommand(): Command {
  const cmd = addStartOptions(new Command('run').description('run an assignment to the end with an in-process all-in-one worker'))
    .option('--debug', 'one sample at a time, echoing each prompt, prediction and score on stderr');
  return cmd.action(async (configPath: string | undefined, opts: RunOptions, command: Command) => {
    if (opts.id !== undefined) checkAssignmentId(opts.id, '--id');
    const noReuse = noReuseOption(opts);
    const loaded = await loadConfigInput(configPath, opts);
    const config = opts.debug ? oneAtATime(loaded.config) : loaded.config;
    await withServices(command, async ({ store, temporal }) => {
      const reuseFrom = await reuseFromOption(store, opts.reuse);
      if (opts.dryRun) return printPreview(store, temporal, config, opts, reuseFrom);
      const worker = await startWorker({
        type: 'all', connection: connectionFromCommand(command), debug: opts.debug ? echo : undefined, ...modelQueuesOf(config),
      });
      try {
        const started = await startAssignment(store, temporal, { config, sourcePath: loaded.sourcePath, assignmentId: opts.id, mode: opts.mode, reuseFrom, noReuse });
        process.stderr.write(`running ${started.assignmentId} with an in-process worker\n`);
        const ended = await watchAssignment(store, temporal, started.assignmentId, { summary: false }).catch((err: unknown) => err);
        const view = await assignmentStatus(store, temporal, (await store.assignments.findOne({ _id: started.assignmentId }))!);
        if (opts.json) printJson(view);
        else process.stdout.write(`${formatStatus(view)}\n`);
        if (ended instanceof RunFailedError || ended instanceof UsageError) throw ended;
        if (ended instanceof Error) throw ended;
      } finally {
        await worker.shutdown();
      }
    });
  });
}
