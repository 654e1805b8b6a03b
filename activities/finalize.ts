import { Context } from '@temporalio/activity';
import { aggregate, percentile } from '../src/metrics';
import { emptyCounts, type AssignmentStatus, type Counts } from '../src/contracts';
import type { FailOnError } from '../src/config/schema';
import { figuresOf, type JobDoc, type JobMetrics, type ResultDoc, type ResultFigures } from '../src/store/documents';
import { findByIds } from '../src/store/store';
import { currentRunId, type ActivityDeps, type ConfigCache } from './deps';
import { followUpEnding } from '../src/report/ending';

/** Figures of one job recomputed from its stored samples and results. */
export interface JobSummary {
  counts: Counts;
  metrics: JobMetrics;
}

/**
 * Recomputes a job's counts and metrics from MongoDB, streaming its sample records. Records written with
 * their result carry its score and figures; the others (older records, late adoptions) are completed from
 * the results, read by key in pages.
 */
export async function summarizeJob(deps: ActivityDeps, job: Pick<JobDoc, 'assignmentId' | 'jobId'>, total: number): Promise<JobSummary> {
  const counts = emptyCounts(total);
  const scores: Array<{ value: number; passed?: boolean }> = [];
  const latencies: number[] = [];
  const tokens = { input: 0, output: 0 };
  let cost = 0;
  const add = (score: { value: number; passed?: boolean } | null, figures: ResultFigures): void => {
    if (score) scores.push(score);
    if (typeof figures.latencyMs === 'number') latencies.push(figures.latencyMs);
    tokens.input += figures.inputTokens;
    tokens.output += figures.outputTokens;
    cost += figures.cost;
  };
  let page: string[] = [];
  const flush = async (): Promise<void> => {
    const keys = page;
    page = [];
    if (keys.length === 0) return;
    const results = await findByIds(deps.store, deps.store.results, keys, { score: 1, latencyMs: 1, usage: 1, cost: 1 });
    const byKey = new Map(results.map((r) => [r._id, r as Pick<ResultDoc, 'score' | 'latencyMs' | 'usage' | 'cost'>]));
    for (const key of keys) {
      const r = byKey.get(key);
      if (r) add(r.score ? { value: r.score.value, passed: r.score.passed } : null, figuresOf(r));
    }
  };
  const cursor = deps.store.samples.find({ assignmentId: job.assignmentId, jobId: job.jobId }, { projection: { sampleKey: 1, status: 1, score: 1, passed: 1, figures: 1 } });
  let seen = 0;
  for await (const s of cursor) {
    counts[s.status] += 1;
    if ((++seen) % 1_000 === 0) Context.current().heartbeat();
    if (s.status !== 'succeeded' && s.status !== 'reused') continue;
    if (s.figures) {
      add(typeof s.score === 'number' ? { value: s.score, ...(typeof s.passed === 'boolean' ? { passed: s.passed } : {}) } : null, s.figures);
      continue;
    }
    page.push(s.sampleKey);
    if (page.length >= 500) await flush();
  }
  await flush();
  const ended = counts.succeeded + counts.failed + counts.reused + counts.canceled;
  counts.canceled += Math.max(0, total - ended);
  const score = scores.length > 0 ? aggregate(scores) : null;
  return {
    counts,
    metrics: {
      score: score ? { n: score.n, mean: score.mean, ci95: score.ci95, method: score.method } : null,
      latencyMs: { p50: finiteOrNull(percentile(latencies, 50)), p95: finiteOrNull(percentile(latencies, 95)) },
      tokens,
      cost,
    },
  };
}

/** MongoDB-compatible servers differ on NaN (FerretDB refuses it), so "no value" is stored as null. */
function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Whether `failed` of `total` samples (of a job, or of the assignment) fail a completed run, per `failOnError`. */
export function failsOnError(rule: FailOnError, failed: number, total: number): boolean {
  if (failed === 0) return false;
  if (typeof rule === 'boolean') return rule;
  if (rule < 1) return total > 0 && failed / total > rule;
  return failed > rule;
}

/** Which jobs failed beyond `failOnError`, and the assignment's error when the run fails by it. */
export interface FailureVerdict {
  jobs: string[];
  error?: string;
}

/**
 * Applies `failOnError` to each job and to the whole assignment: a fraction holds for every job (one
 * broken model fails the run), a count for the assignment. The error names the jobs beyond the limit.
 */
export function failureVerdict(rule: FailOnError, jobs: ReadonlyArray<{ jobId: string; counts: Counts }>): FailureVerdict {
  const totals = { failed: 0, total: 0 };
  const beyond: string[] = [];
  for (const { jobId, counts } of jobs) {
    totals.failed += counts.failed;
    totals.total += counts.total;
    if (failsOnError(rule, counts.failed, counts.total)) beyond.push(jobId);
  }
  if (beyond.length === 0 && !failsOnError(rule, totals.failed, totals.total)) return { jobs: [] };
  const named = beyond.slice(0, 5).map((id) => {
    const c = jobs.find((j) => j.jobId === id)!.counts;
    return `${id} ${c.failed}/${c.total}`;
  });
  const where = named.length > 0 ? `; beyond the limit: ${named.join(', ')}${beyond.length > 5 ? ` and ${beyond.length - 5} more jobs` : ''}` : '';
  return { jobs: beyond, error: `${totals.failed} of ${totals.total} samples failed (failOnError: ${String(rule)})${where}` };
}

/** Builds the finalisation activity, run on every ending of an assignment. */
export function finalizeActivities(deps: ActivityDeps, configs: ConfigCache) {
  return {
    /** Writes per-job aggregates, the assignment's final status and counts, and an event. */
    async finalizeAssignment(input: { assignmentId: string; outcome: AssignmentStatus; error: string | null }): Promise<{ status: AssignmentStatus; error?: string }> {
      const { assignmentId } = input;
      const config = await configs.get(assignmentId);
      const jobs = await deps.store.jobs.find({ assignmentId }).sort({ _id: 1 }).toArray();
      const summaries = [];
      for (const job of jobs) summaries.push({ job, summary: await summarizeJob(deps, job, job.counts.total) });
      const verdict = failureVerdict(config.failOnError, summaries.map(({ job, summary }) => ({ jobId: job.jobId, counts: summary.counts })));
      const totals = emptyCounts();
      for (const { job, summary } of summaries) {
        const beyond = input.outcome === 'completed' && verdict.jobs.includes(job.jobId);
        const status: AssignmentStatus = input.outcome === 'canceled' ? 'canceled' : job.status === 'failed' || beyond ? 'failed' : input.outcome === 'failed' && summary.counts.canceled > 0 ? 'failed' : 'completed';
        await deps.store.jobs.updateOne({ _id: job._id }, { $set: { status, counts: summary.counts, metrics: summary.metrics, updatedAt: new Date() } });
        for (const k of Object.keys(totals) as Array<keyof Counts>) totals[k] += summary.counts[k];
      }
      let status = input.outcome;
      let error = input.error ?? undefined;
      if (status === 'completed' && verdict.error) {
        status = 'failed';
        error = verdict.error;
      }
      const now = new Date();
      await deps.store.assignments.updateOne(
        { _id: assignmentId },
        { $set: { status, counts: totals, endedAt: now, updatedAt: now, paused: false, ...(error ? { error } : {}) } },
      );
      await deps.store.events.updateOne(
        { _id: `${assignmentId}/${status}/${currentRunId()}` },
        { $setOnInsert: { assignmentId, type: status, at: now, data: { counts: totals, ...(error ? { error } : {}) } } },
        { upsert: true },
      );
      // Follow-up work: leaderboards, export and notifications; failures become events, never a failed ending.
      const ctx = Context.current();
      await followUpEnding(
        { store: deps.store, env: deps.env, heartbeat: () => ctx.heartbeat(), log: (message, attrs) => ctx.log.warn(message, attrs) },
        { assignmentId, status, runId: currentRunId(), config },
      );
      return error ? { status, error } : { status };
    },
  };
}
