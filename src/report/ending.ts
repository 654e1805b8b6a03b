import type { AssignmentConfig } from '../config/schema';
import type { AssignmentStatus } from '../contracts';
import { channelsFor, sendNotifications, type ChannelOutcome } from '../notify/send';
import type { DeliveryOptions } from '../notify/deliver';
import type { NotifyOutcome, NotifySummary } from '../notify/payload';
import type { Store } from '../store/store';
import type { AssignmentDoc, JobDoc } from '../store/documents';
import { uiBaseUrl, workflowUiUrl } from '../temporal/client';
import { exportAssignment, exportDirOf } from './export';
import { rebuildLeaderboards } from './source';

/**
 * Follow-up work when an assignment ends, run by finalisation once the status is stored: rebuild the
 * leaderboard of every task it touched, write the export folder, send notifications. None of it can fail
 * the ending: each failure becomes an event (`leaderboard-failed`, `export-failed`, `notify-failed`).
 */

/** What the follow-up needs from the activity around it. */
export interface EndingDeps {
  store: Store;
  env: NodeJS.ProcessEnv;
  /** Called at least every second while work is in flight, so a long export or a slow webhook keeps the activity alive. */
  heartbeat: () => void;
  log?: (message: string, attrs?: Record<string, unknown>) => void;
  delivery?: DeliveryOptions;
}

/** The ending to follow up. `runId` makes event ids idempotent across activity retries. */
export interface EndingInput {
  assignmentId: string;
  status: AssignmentStatus;
  runId: string;
  config: Pick<AssignmentConfig, 'output' | 'notify'>;
}

/** What was done, also stored as the data of the `finalized` event. */
export interface EndingReport {
  leaderboards: string[];
  exportDir: string | null;
  notified: number;
  notifyFailed: number;
}

async function recordEvent(store: Store, input: EndingInput, key: string, type: string, data: Record<string, unknown>): Promise<void> {
  await store.events.updateOne(
    { _id: `${input.assignmentId}/${key}/${input.runId}` },
    { $setOnInsert: { assignmentId: input.assignmentId, type, at: new Date(), data } },
    { upsert: true },
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs every follow-up of an ending, heartbeating throughout. Only a lost database makes it throw. */
export async function followUpEnding(deps: EndingDeps, input: EndingInput): Promise<EndingReport> {
  const timer = setInterval(deps.heartbeat, 1_000);
  try {
    deps.heartbeat();
    const assignment = await deps.store.assignments.findOne({ _id: input.assignmentId });
    if (!assignment) return { leaderboards: [], exportDir: null, notified: 0, notifyFailed: 0 };
    const jobs = await deps.store.jobs.find({ assignmentId: input.assignmentId }).sort({ _id: 1 }).toArray();
    const leaderboards = await rebuildBoards(deps, input, jobs);
    const exportDir = await writeExport(deps, input, assignment);
    const outcomes = isNotifyOutcome(input.status) ? await notify(deps, input, assignment, jobs, input.status) : [];
    const report = { leaderboards, exportDir, notified: outcomes.filter((o) => o.result.ok).length, notifyFailed: outcomes.filter((o) => !o.result.ok).length };
    await recordEvent(deps.store, input, 'finalized', 'finalized', { ...report });
    return report;
  } finally {
    clearInterval(timer);
  }
}

async function rebuildBoards(deps: EndingDeps, input: EndingInput, jobs: JobDoc[]): Promise<string[]> {
  const tasks = [...new Set(jobs.map((j) => j.taskId))].sort();
  try {
    await rebuildLeaderboards(deps.store, tasks, input.assignmentId);
    return tasks;
  } catch (err) {
    deps.log?.('leaderboard rebuild failed', { assignmentId: input.assignmentId, error: messageOf(err) });
    await recordEvent(deps.store, input, 'leaderboard-failed', 'leaderboard-failed', { tasks, error: messageOf(err) });
    return [];
  }
}

async function writeExport(deps: EndingDeps, input: EndingInput, assignment: AssignmentDoc): Promise<string | null> {
  // EVALCTL_EXPORT=0 on a worker turns automatic exports off (`evalctl export` still works).
  if (deps.env.EVALCTL_EXPORT === '0' || input.config.output === false) return null;
  // Resolved when the assignment started; older assignments only exported with an `output`.
  const dir = assignment.outputDir !== undefined ? assignment.outputDir : input.config.output ? exportDirOf(assignment, input.config.output) : null;
  if (!dir) return null;
  try {
    const done = await exportAssignment(deps.store, assignment, dir, deps.heartbeat);
    await recordEvent(deps.store, input, 'exported', 'exported', { dir, files: done.files.length, samples: done.samples });
    return dir;
  } catch (err) {
    deps.log?.('export failed', { assignmentId: input.assignmentId, dir, error: messageOf(err) });
    await recordEvent(deps.store, input, 'export-failed', 'export-failed', { dir, error: messageOf(err) });
    return null;
  }
}

function isNotifyOutcome(status: AssignmentStatus): status is NotifyOutcome {
  return status === 'completed' || status === 'failed' || status === 'canceled';
}

/** The summary notifications carry. */
export function notifySummary(assignment: AssignmentDoc, jobs: JobDoc[], status: NotifyOutcome, env: NodeJS.ProcessEnv): NotifySummary {
  const endedAt = assignment.endedAt ?? new Date();
  const summary: NotifySummary = {
    assignmentId: assignment._id, name: assignment.name, status, counts: assignment.counts,
    jobs: jobs.map((j) => ({ jobId: j.jobId, modelId: j.modelId, taskId: j.taskId, status: j.status, score: j.metrics?.score ?? null })),
    endedAt: endedAt.toISOString(),
    uiUrl: workflowUiUrl(uiBaseUrl(env), env.TEMPORAL_NAMESPACE?.trim() || 'default', assignment.workflowId),
  };
  if (assignment.error) summary.error = assignment.error;
  if (assignment.startedAt) {
    summary.startedAt = assignment.startedAt.toISOString();
    summary.durationMs = endedAt.getTime() - assignment.startedAt.getTime();
  }
  return summary;
}

async function notify(deps: EndingDeps, input: EndingInput, assignment: AssignmentDoc, jobs: JobDoc[], status: NotifyOutcome): Promise<ChannelOutcome[]> {
  const wanted = channelsFor(input.config.notify, status);
  if (wanted.length === 0) return [];
  // A retried finalisation must not notify twice: channels with an outcome already recorded are skipped.
  const done = new Set((await deps.store.events.find({ assignmentId: input.assignmentId, type: { $in: ['notified', 'notify-failed'] } }).toArray())
    .map((e) => e._id));
  const pending = wanted.filter(({ index }) => !done.has(notifyEventId(input, index)));
  const outcomes = await sendNotifications(pending, notifySummary(assignment, jobs, status, deps.env), deps.delivery);
  for (const o of outcomes) {
    const data = { channel: o.index, kind: o.kind, target: o.target, status, attempts: o.result.attempts, httpStatus: o.result.status ?? null, elapsedMs: o.result.elapsedMs };
    const type = o.result.ok ? 'notified' : 'notify-failed';
    if (!o.result.ok) deps.log?.('notification failed', { assignmentId: input.assignmentId, ...data, error: o.result.error });
    await recordEvent(deps.store, input, `notify/${o.index}`, type, o.result.ok ? data : { ...data, error: o.result.error ?? null });
  }
  return outcomes;
}

function notifyEventId(input: EndingInput, index: number): string {
  return `${input.assignmentId}/notify/${index}/${input.runId}`;
}
