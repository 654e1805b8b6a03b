import { Command } from 'commander';
import { assignmentStatus, type AssignmentStatusView } from '../control/status';
import { ORCHESTRATOR_QUEUE } from '../contracts';
import { coverageText, overallText, scoreText } from '../report/format';
import { doneOf } from './progress-bars';
import { findAssignment, printJson, withStoreAndMaybeTemporal } from './services';

/** Human-readable status: one line for the assignment and one per job. */
export function formatStatus(view: AssignmentStatusView): string {
  const c = view.counts;
  const lines = [
    `assignment ${view.assignmentId} (${view.name}): ${view.status}`,
    `  samples: ${doneOf(c)}/${c.total} ended; ${c.succeeded} succeeded, ${c.reused} reused, ${c.failed} failed, ${c.canceled} canceled, ${c.running} running`,
  ];
  if (view.error) lines.push(`  error: ${view.error}`);
  for (const r of view.retrying ?? []) lines.push(`  retrying ${r.activity} (attempt ${r.attempt}): ${r.lastError}`);
  if (view.orchestrator === 'not running') {
    lines.push(`  orchestrator: not running (no worker polls ${ORCHESTRATOR_QUEUE}); counts are MongoDB's; nothing moves until one runs: evalctl worker orchestrator (or: evalctl worker all)`);
  } else if (view.orchestrator === 'not answering') {
    lines.push('  orchestrator: not answering progress queries (busy or just gone); counts are MongoDB\'s');
  }
  for (const job of view.jobs) {
    const j = job.counts;
    const score = job.metrics?.score ? ` score ${scoreText(job.metrics.score)}${coverageText(job.metrics.score, j)}` : '';
    const overall = job.overall === undefined ? '' : ` overall ${overallText(job.overall)}`;
    lines.push(`  ${job.jobId}: ${job.status} ${doneOf(j)}/${j.total} (${j.succeeded} ok, ${j.reused} reused, ${j.failed} failed, ${j.canceled} canceled)${score}${overall}`);
  }
  return lines.join('\n');
}

/** `evalctl status <id>`: counts per job, live while running, from MongoDB once ended. */
export function statusCommand(): Command {
  return new Command('status')
    .description('show the status and counts of an assignment')
    .argument('<id>', 'assignment id')
    .option('--json', 'print JSON {assignmentId, status, counts, jobs} on stdout')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      await withStoreAndMaybeTemporal(command, async ({ store, temporal, unreachable }) => {
        const view = await assignmentStatus(store, temporal, await findAssignment(store, id));
        if (unreachable) process.stderr.write(`warning: ${unreachable}; showing what MongoDB last stored (live counts need Temporal)\n`);
        if (opts.json) printJson(unreachable ? { ...view, temporalUnreachable: unreachable } : view);
        else process.stdout.write(`${formatStatus(view)}\n`);
      });
    });
}
