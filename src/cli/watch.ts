import { Command } from 'commander';
import { isTerminal } from '../contracts';
import { assignmentStatus, type AssignmentStatusView } from '../control/status';
import type { Store } from '../store/store';
import type { TemporalHandle } from '../temporal/client';
import { RunFailedError } from './errors';
import { doneOf, rateOf, renderStatus, type Sample } from './progress-bars';
import { findAssignment, withServices } from './services';
import { formatStatus } from './status';

/**
 * Follows an assignment until it ends, drawing a progress bar per job on stderr (redrawn in place on a
 * terminal, a line every few seconds otherwise). Ends with an error when the assignment did not complete.
 */
export async function watchAssignment(
  store: Store, temporal: TemporalHandle, assignmentId: string, opts: { intervalMs?: number; summary?: boolean; interruptHint?: boolean } = {},
): Promise<AssignmentStatusView> {
  const intervalMs = opts.intervalMs ?? 1000;
  const onInterrupt = (): void => {
    process.stderr.write(`\nstopped watching; assignment ${assignmentId} keeps running. Cancel it: evalctl cancel ${assignmentId}; follow it again: evalctl watch ${assignmentId}\n`);
    process.exit(130);
  };
  if (opts.interruptHint) process.once('SIGINT', onInterrupt);
  try {
    return await follow(store, temporal, assignmentId, intervalMs, opts.summary !== false);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

async function follow(store: Store, temporal: TemporalHandle, assignmentId: string, intervalMs: number, summary: boolean): Promise<AssignmentStatusView> {
  const history = new Map<string, Sample[]>();
  const tty = Boolean(process.stderr.isTTY);
  let drawn = 0;
  let lastPrint = 0;
  for (;;) {
    const view = await assignmentStatus(store, temporal, await findAssignment(store, assignmentId));
    const rates = new Map<string, number>();
    const now = Date.now();
    for (const job of view.jobs) {
      const h = [...(history.get(job.jobId) ?? []), { t: now, done: doneOf(job.counts) }].slice(-15);
      history.set(job.jobId, h);
      rates.set(job.jobId, rateOf(h));
    }
    const screen = renderStatus(view, rates);
    const ended = isTerminal(view.status);
    if (tty) {
      if (drawn > 0) process.stderr.write(`\x1b[${drawn}A\x1b[0J`);
      process.stderr.write(`${screen}\n`);
      drawn = screen.split('\n').length;
    } else if (ended || now - lastPrint >= 5000) {
      process.stderr.write(`${screen}\n`);
      lastPrint = now;
    }
    if (ended) {
      // The ending's scores, each with the samples it covers and the failures it does not.
      if (summary) process.stderr.write(`${formatStatus(view)}\n`);
      if (view.status !== 'completed') throw new RunFailedError(`assignment ${assignmentId} ended ${view.status}${view.error ? `: ${view.error}` : ''}`);
      return view;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `evalctl watch <id>`: progress bars per job with rate and ETA, until the assignment ends. */
export function watchCommand(): Command {
  return new Command('watch')
    .description('follow an assignment with a progress bar per job until it ends')
    .argument('<id>', 'assignment id')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withServices(command, async ({ store, temporal }) => {
        await findAssignment(store, id);
        await watchAssignment(store, temporal, id, { interruptHint: true });
      });
    });
}
