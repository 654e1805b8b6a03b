import type { AssignmentStatusView, JobStatusView } from '../control/status';

/** A point in time and how many samples had ended then, for rates and ETAs. */
export interface Sample {
  t: number;
  done: number;
}

/** Samples that have ended in any way. */
export function doneOf(counts: JobStatusView['counts']): number {
  return counts.succeeded + counts.failed + counts.reused + counts.canceled;
}

/** Samples per second over the recent window of observations. */
export function rateOf(history: Sample[]): number {
  if (history.length < 2) return 0;
  const first = history[0];
  const last = history[history.length - 1];
  const dt = (last.t - first.t) / 1000;
  return dt > 0 ? Math.max(0, (last.done - first.done) / dt) : 0;
}

/** "1m05s" style durations for ETAs. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line: bar, counts, rate and ETA. */
export function renderJobLine(job: JobStatusView, rate: number, width = 24, labelWidth = 24): string {
  const total = Math.max(job.counts.total, 1);
  const done = doneOf(job.counts);
  const filled = Math.min(width, Math.round((done / total) * width));
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const eta = rate > 0 ? formatDuration((job.counts.total - done) / rate) : '--';
  const label = job.jobId.length > labelWidth ? `${job.jobId.slice(0, labelWidth - 1)}~` : job.jobId.padEnd(labelWidth);
  const extra = [job.counts.failed ? `${job.counts.failed} failed` : '', job.counts.reused ? `${job.counts.reused} reused` : '']
    .filter(Boolean).join(', ');
  return `${label} [${bar}] ${String(done).padStart(String(job.counts.total).length)}/${job.counts.total} ${rate.toFixed(1)}/s eta ${eta} ${job.status}${extra ? ` (${extra})` : ''}`;
}

/** The whole screen for one assignment. */
export function renderStatus(view: AssignmentStatusView, rates: Map<string, number>): string {
  const head = `${view.assignmentId}  ${view.status}  ${doneOf(view.counts)}/${view.counts.total} done`;
  const lines = view.jobs.map((job) => renderJobLine(job, rates.get(job.jobId) ?? 0));
  return [head, ...lines].join('\n');
}
