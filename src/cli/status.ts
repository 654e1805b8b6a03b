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
  if (view.budget) lines.push(`  budget: ${budgetText(view.budget)}`);
  for (const e of view.endpoints ?? []) {
    const held = e.blockedUntil ? `; holding every call until ${e.blockedUntil} (Retry-After)` : '';
    lines.push(`  endpoint ${e.endpoint}: concurrency limit ${e.limit} (floor ${e.floor}, ceiling ${e.ceiling}), ${e.inFlight} in flight, ${e.decreases} cuts, ${e.increases} raises${held}`);
  }
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
  lines.push(...batchLines(view));
  return lines.join('\n');
}

/** Batches shown one per line; a long list ends with how many more there are. */
const MAX_BATCH_LINES = 20;

/** Provider batches: a summary by state, then one line per batch with the endpoint's id and counts. */
function batchLines(view: AssignmentStatusView): string[] {
  const batches = view.batches ?? [];
  if (batches.length === 0) return [];
  const byState = new Map<string, number>();
  for (const b of batches) byState.set(b.status, (byState.get(b.status) ?? 0) + 1);
  const lines = [`  provider batches: ${batches.length} (${[...byState].map(([s, n]) => `${n} ${s}`).join(', ')})`];
  for (const b of batches.slice(0, MAX_BATCH_LINES)) {
    const counts = b.counts ? `, ${b.counts.completed}/${b.counts.total} completed, ${b.counts.failed} failed` : '';
    const collected = b.collected ? `; stored ${b.collected.succeeded} ok, ${b.collected.failed} failed, ${b.collected.canceled} canceled${b.collected.unanswered ? `, ${b.collected.unanswered} resubmitted` : ''}` : '';
    lines.push(`    ${b.jobId} [${b.start}, ${b.end}) round ${b.round}: ${b.remoteId ?? '(nothing to send)'} ${b.status}, ${b.requests} requests${counts}${collected}`);
  }
  if (batches.length > MAX_BATCH_LINES) lines.push(`    ... and ${batches.length - MAX_BATCH_LINES} more (status --json lists them all)`);
  return lines;
}

/** Spend against the budget's limits, and the stop once there was one: `cost 0.42/1, tokens 8120/10000 (37 calls)`. */
export function budgetText(b: NonNullable<AssignmentStatusView['budget']>): string {
  const parts: string[] = [];
  if (b.limits.maxCost !== undefined) parts.push(`cost ${Number(b.spent.cost.toPrecision(6))}/${b.limits.maxCost}`);
  if (b.limits.maxTokens !== undefined) parts.push(`tokens ${b.spent.tokens}/${b.limits.maxTokens}`);
  return `${parts.join(', ')} (${b.spent.calls} calls)${b.stopped ? `; stopped: ${b.stopped}` : ''}`;
}

/** `evalctl status <id>`: counts per job, live while running, from MongoDB once ended. */
export function statusCommand(): Command {
  return new Command('status')
    .description('show the status and counts of an assignment')
    .argument('<id>', 'assignment id')
    .option('--json', 'print JSON {assignmentId, status, counts, jobs, batches} on stdout (batches: provider batches, when there are any)')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      await withStoreAndMaybeTemporal(command, async ({ store, temporal, unreachable }) => {
        const view = await assignmentStatus(store, temporal, await findAssignment(store, id));
        if (unreachable) process.stderr.write(`warning: ${unreachable}; showing what MongoDB last stored (live counts need Temporal)\n`);
        if (opts.json) printJson(unreachable ? { ...view, temporalUnreachable: unreachable } : view);
        else process.stdout.write(`${formatStatus(view)}\n`);
      });
    });
}
