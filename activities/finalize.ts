import { Context } from '@temporalio/activity';
import { aggregate, aggregateEpochs, percentile, type ScoreValue } from '../src/metrics';
import { epochPosition } from '../src/datasets';
import { emptyCounts, type AssignmentStatus, type Counts } from '../src/contracts';
import type { FailOnError, TaskConfig } from '../src/config/schema';
import { figuresOf, type JobDigestRow, type JobDoc, type JobMetrics, type MetricSummary, type ResultDoc, type ResultFigures } from '../src/store/documents';
import { TextDigestWriter, writeJobDigest } from '../src/store/digests';
import { searchTextOf } from '../src/store/search-text';
import { findByIds } from '../src/store/store';
import { currentRunId, type ActivityDeps, type ConfigCache } from './deps';
import { followUpEnding } from '../src/report/ending';

/** Figures of one job recomputed from its stored samples and results. */
export interface JobSummary {
  counts: Counts;
  metrics: JobMetrics;
  /** Every sample record as the viewer's digest row, in index order (stored by finalisation, src/store/digests.ts). */
  rows: JobDigestRow[];
}

/** A job's epochs and how a sample's epoch scores are reduced (one epoch: scores are aggregated as they are). */
export interface EpochSetting {
  epochs: number;
  reducer: string;
}

/** The epochs of a task as finalisation reduces them. */
export function epochSettingOf(task: TaskConfig | undefined): EpochSetting {
  return task && task.kind !== 'agent' ? { epochs: task.epochs ?? 1, reducer: task.reducer } : { epochs: 1, reducer: 'mean' };
}

/**
 * Recomputes a job's counts and metrics from MongoDB, streaming its sample records, and hands each
 * sample's searchable text to `texts` (the job's stored text digest). Records written with their result
 * carry its score, figures and text; the others (older records, late adoptions) are completed from the
 * results, read by key in pages. With epochs, the scores of each sample's epochs are reduced first.
 */
export async function summarizeJob(
  deps: ActivityDeps, job: Pick<JobDoc, 'assignmentId' | 'jobId'>, total: number, setting: EpochSetting = { epochs: 1, reducer: 'mean' },
  texts?: TextDigestWriter,
): Promise<JobSummary> {
  const counts = emptyCounts(total);
  const figures = new FigureCollector(total, setting);
  const completion = new Completion(deps, figures, texts);
  const cursor = deps.store.samples.find(
    { assignmentId: job.assignmentId, jobId: job.jobId },
    { projection: { index: 1, sampleKey: 1, status: 1, score: 1, passed: 1, figures: 1, ...(texts ? { text: 1 } : {}) } },
  );
  let seen = 0;
  const rows: JobDigestRow[] = [];
  for await (const s of cursor) {
    counts[s.status] += 1;
    rows.push({
      index: s.index, status: s.status, sampleKey: s.sampleKey, score: typeof s.score === 'number' ? s.score : null,
      passed: typeof s.passed === 'boolean' ? s.passed : null, latencyMs: typeof s.figures?.latencyMs === 'number' ? s.figures.latencyMs : null,
    });
    if ((++seen) % 1_000 === 0) Context.current().heartbeat();
    if (s.status === 'canceled') continue;
    const ran = s.status !== 'failed';
    if (ran && s.figures) figures.add(s.index, typeof s.score === 'number' ? { value: s.score, ...(typeof s.passed === 'boolean' ? { passed: s.passed } : {}) } : null, s.figures);
    if (texts && typeof s.text === 'string') await texts.add(s.index, s.text);
    const wantsFigures = ran && !s.figures;
    const wantsText = !!texts && typeof s.text !== 'string';
    if (wantsFigures || wantsText) await completion.push({ key: s.sampleKey, index: s.index, figures: wantsFigures, text: wantsText });
  }
  await completion.flush();
  await texts?.finish();
  const ended = counts.succeeded + counts.failed + counts.reused + counts.canceled;
  counts.canceled += Math.max(0, total - ended);
  return { counts, rows: rows.sort((a, b) => a.index - b.index), metrics: figures.metrics() };
}

/** Scores, latencies, tokens and cost of a job's samples, as they are read. */
class FigureCollector {
  private readonly scores: ScoreCollector;
  private readonly latencies: number[] = [];
  private readonly tokens = { input: 0, output: 0 };
  private cost = 0;

  constructor(total: number, setting: EpochSetting) {
    this.scores = new ScoreCollector(total, setting);
  }

  add(index: number, score: ScoreValue | null, figures: ResultFigures): void {
    if (score) this.scores.add(index, score);
    if (typeof figures.latencyMs === 'number') this.latencies.push(figures.latencyMs);
    this.tokens.input += figures.inputTokens;
    this.tokens.output += figures.outputTokens;
    this.cost += figures.cost;
  }

  metrics(): JobMetrics {
    return {
      score: this.scores.summary(),
      latencyMs: { p50: finiteOrNull(percentile(this.latencies, 50)), p95: finiteOrNull(percentile(this.latencies, 95)) },
      tokens: this.tokens,
      cost: this.cost,
    };
  }
}

/** A sample record that lacks its result's figures or text, completed from the result. */
interface Wanted {
  key: string;
  index: number;
  figures: boolean;
  text: boolean;
}

/** Completes sample records from their results, read by key 500 at a time. */
class Completion {
  private page: Wanted[] = [];

  constructor(private readonly deps: ActivityDeps, private readonly figures: FigureCollector, private readonly texts?: TextDigestWriter) {}

  async push(wanted: Wanted): Promise<void> {
    this.page.push(wanted);
    if (this.page.length >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    const wanted = this.page;
    this.page = [];
    if (wanted.length === 0) return;
    const projection = { score: 1, latencyMs: 1, usage: 1, cost: 1, ...(wanted.some((w) => w.text) ? { input: 1, prediction: 1 } : {}) };
    const results = await findByIds(this.deps.store, this.deps.store.results, wanted.map((w) => w.key), projection);
    const byKey = new Map(results.map((r) => [r._id, r as Pick<ResultDoc, 'score' | 'latencyMs' | 'usage' | 'cost' | 'input' | 'prediction'>]));
    for (const { key, index, figures, text } of wanted) {
      const r = byKey.get(key);
      if (!r) continue;
      if (figures) this.figures.add(index, r.score ? { value: r.score.value, passed: r.score.passed } : null, figuresOf(r));
      if (text) await this.texts?.add(index, searchTextOf(r.input, r.prediction));
    }
  }
}

/**
 * Scores of a job's sample records, grouped by dataset sample when the job has epochs (position p is
 * sample p mod n of epoch p / n + 1, see withEpochs), and summarised with a 95% interval over samples.
 */
class ScoreCollector {
  private readonly flat: ScoreValue[] = [];
  private readonly bySample = new Map<number, ScoreValue[]>();
  private readonly rows: number;

  constructor(total: number, private readonly setting: EpochSetting) {
    this.rows = setting.epochs > 1 ? Math.max(1, Math.floor(total / setting.epochs)) : total;
  }

  add(index: number, score: ScoreValue): void {
    if (this.setting.epochs <= 1) {
      this.flat.push(score);
      return;
    }
    const { row } = epochPosition(index, this.rows);
    const list = this.bySample.get(row);
    if (list) list.push(score);
    else this.bySample.set(row, [score]);
  }

  summary(): MetricSummary | null {
    if (this.setting.epochs <= 1) {
      const score = this.flat.length > 0 ? aggregate(this.flat) : null;
      return score ? { n: score.n, mean: score.mean, ci95: score.ci95, method: score.method } : null;
    }
    const score = aggregateEpochs(this.bySample.values(), this.setting.reducer);
    if (!score) return null;
    return { n: score.n, mean: score.mean, ci95: score.ci95, method: score.method, epochs: this.setting.epochs, reducer: this.setting.reducer, samples: this.rows };
  }
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
      for (const job of jobs) {
        const setting = epochSettingOf(config.tasks.find((t) => t.id === job.taskId));
        // The viewer's digests of the job (text while the records are read, rows after), stamped with the updatedAt the job gets below.
        const version = new Date();
        const { rows, ...summary } = await summarizeJob(deps, job, job.counts.total, setting, new TextDigestWriter(deps.store, job, version));
        await writeJobDigest(deps.store, job, rows, version);
        summaries.push({ job, summary, version });
      }
      const verdict = failureVerdict(config.failOnError, summaries.map(({ job, summary }) => ({ jobId: job.jobId, counts: summary.counts })));
      const totals = emptyCounts();
      for (const { job, summary, version } of summaries) {
        const beyond = input.outcome === 'completed' && verdict.jobs.includes(job.jobId);
        const status: AssignmentStatus = input.outcome === 'canceled' ? 'canceled' : job.status === 'failed' || beyond ? 'failed' : input.outcome === 'failed' && summary.counts.canceled > 0 ? 'failed' : 'completed';
        await deps.store.jobs.updateOne({ _id: job._id }, { $set: { status, counts: summary.counts, metrics: summary.metrics, updatedAt: version } });
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
