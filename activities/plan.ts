import { Context } from '@temporalio/activity';
import { agentPlanOf, openTaskSamples } from '../src/environments';
import type { AssignmentConfig, ModelConfig, TaskConfig } from '../src/config/schema';
import {
  emptyCounts, jobIdOf, jobWorkflowId, type AssignmentPlan, type Counts, type JobPlan, type PreparedSample, type RunMode,
} from '../src/contracts';
import { currentRunId, type ActivityDeps, type ConfigCache } from './deps';
import { keyedSamples, type KeyedSample } from '../src/plan/samples';
import { comparableTaskKey } from '../src/config/keys';
import { classifyBatch } from '../src/plan/reuse';
import { INLINE_SCORERS, fanoutFor, inferenceQueueFor, localCallOf, windowFor } from '../src/plan/jobs';
import { recordSampleDocs } from './records';
import { toFailure } from './failures';
import { bulkWriteInParts } from '../src/store/store';

/** Builds the plan activities of the orchestrator queue. */
export function planActivities(deps: ActivityDeps, configs: ConfigCache) {
  return {
    /**
     * Counts every task's samples, writes one job document per (model, task) and marks the assignment running.
     * A dataset or environment that can never be read fails it for good (the assignment ends failed in
     * seconds); anything else (MongoDB away, a timeout) is retried.
     */
    async planAssignment(input: { assignmentId: string }): Promise<AssignmentPlan> {
      return permanentAsFailure(() => plan(input));
    },

    /** Keys a batch of indexes and decides, per the dedup rules, which run, which are reused, which rescore. */
    async prepareBatch(input: { assignmentId: string; job: JobPlan; mode: RunMode; indexes: number[]; counts: Counts }): Promise<PreparedSample[]> {
      return permanentAsFailure(async () => {
        const { prepared } = await prepareSamples(deps, configs, input);
        await deps.store.jobs.updateOne({ _id: `${input.assignmentId}/${input.job.jobId}` }, { $set: { status: 'running', counts: input.counts, updatedAt: new Date() } });
        return prepared;
      });
    },
  };

  async function plan(input: { assignmentId: string }): Promise<AssignmentPlan> {
    const config = await configs.get(input.assignmentId);
    const doc = await deps.store.assignments.findOne({ _id: input.assignmentId }, { projection: { mode: 1 } });
    const totals = new Map<string, number>();
    const comparable = new Map<string, { taskKey: string; taskLabel: string }>();
    for (const task of config.tasks) {
      Context.current().heartbeat(task.id);
      const samples = await openTaskSamples(task);
      totals.set(task.id, samples.count);
      comparable.set(task.id, comparableTaskOf(task, samples));
    }
    const mode = (doc?.mode ?? 'all') as RunMode;
    const jobs = config.models.flatMap((model) => config.tasks.map((task) => jobPlan(config, model, task, totals.get(task.id) ?? 0, mode)));
    await writePlan(deps, input.assignmentId, jobs, comparable);
    return { jobs, globalConcurrency: config.concurrency.global, maxJobs: config.concurrency.jobs, retry: config.retry, autoRetry: config.autoRetry, mode };
  }
}

/**
 * Runs planning work with its domain errors turned into the failures Temporal acts on: a dataset, config or
 * environment error that says it is permanent becomes non-retryable, so it is reported in seconds instead of
 * retried out of sight.
 */
export async function permanentAsFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toFailure(err);
  }
}

/**
 * Keys samples and classifies them by the dedup rules, recording the reused ones as this assignment's
 * samples; returns the keyed samples too, for callers that run them in the same process.
 */
export async function prepareSamples(
  deps: ActivityDeps, configs: ConfigCache, input: { assignmentId: string; job: Pick<JobPlan, 'jobId' | 'modelId' | 'taskId'>; mode: RunMode; indexes: number[] },
): Promise<{ prepared: PreparedSample[]; keyed: Map<number, KeyedSample> }> {
  const { assignmentId, job } = input;
  const [model, task, reuse] = await Promise.all([
    configs.model(assignmentId, job.modelId), configs.task(assignmentId, job.taskId), configs.reusePolicy(assignmentId),
  ]);
  const keyed = await keyedSamples(model, task, input.indexes);
  const { prepared, reusedScores, reusedFigures, reusedTexts } = await classifyBatch(
    deps.store, input.mode, reuse.from, input.indexes.map((i) => [i, keyed.get(i)!]), reuse.fresh ? { ownId: assignmentId } : null,
  );
  const reused = prepared.filter((p) => p.reused);
  await recordSampleDocs(deps, reused.map((p) => ({
    assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, index: p.index, sampleKey: p.sampleKey,
    ...(keyed.get(p.index)?.sample.epoch ? { epoch: keyed.get(p.index)?.sample.epoch } : {}),
    status: 'reused' as const, score: reusedScores.get(p.sampleKey)?.value ?? null, passed: reusedScores.get(p.sampleKey)?.passed ?? null,
    ...(reusedFigures.has(p.sampleKey) ? { figures: reusedFigures.get(p.sampleKey) } : {}),
    ...(reusedTexts.has(p.sampleKey) ? { text: reusedTexts.get(p.sampleKey) } : {}),
  })));
  return { prepared, keyed };
}

function jobPlan(config: AssignmentConfig, model: ModelConfig, task: TaskConfig, total: number, mode: RunMode): JobPlan {
  const { fanout } = fanoutFor(config, model, task);
  return {
    jobId: jobIdOf(model.id, task.id), modelId: model.id, taskId: task.id, total,
    window: windowFor(config, model), inferenceQueue: inferenceQueueFor(model), inferTimeoutMs: model.timeoutMs,
    scoreInline: task.kind !== 'agent' && INLINE_SCORERS.has(task.scorer.kind),
    fanout,
    batchRunner: fanout === 'batch' && task.kind !== 'agent' && INLINE_SCORERS.has(task.scorer.kind) && !model.rateLimit,
    ...providerBatchOf(model, task, mode),
    ...(localCallOf(fanout, model, task) ? { localCall: true } : {}),
    ...agentPlanOf(task),
  };
}

/** Provider batch settings of a job whose model is in batch mode and whose stage calls the model. */
function providerBatchOf(model: ModelConfig, task: TaskConfig, mode: RunMode): Pick<JobPlan, 'providerBatch'> {
  if (model.provider.kind !== 'openai' || !model.provider.batch || task.kind === 'agent') return {};
  if (mode !== 'all' && mode !== 'infer') return {};
  const { maxRequests, pollIntervalMs, maxWaitMs, maxResubmits, maxInFlight } = model.provider.batch;
  return { providerBatch: { maxRequests, pollIntervalMs, maxWaitMs, maxResubmits, maxInFlight } };
}

/** A task's leaderboard identity: what makes its scores comparable, and a label of it for people. */
function comparableTaskOf(task: TaskConfig, samples: { viewHash: string; count: number }): { taskKey: string; taskLabel: string } {
  const limit = task.kind === 'agent' ? task.limit : task.dataset.limit;
  const scorer = task.scorer?.kind ?? 'environment';
  const epochs = task.kind === 'agent' ? 1 : task.epochs ?? 1;
  const setup = epochs > 1 ? `, ${task.kind === 'agent' ? '' : task.reducer} of ${epochs} epochs` : '';
  return {
    taskKey: comparableTaskKey(task, samples.viewHash),
    taskLabel: `${scorer}${setup}, ${samples.count / epochs} samples${limit !== undefined ? ` (limit ${limit})` : ''}, data ${samples.viewHash.slice(0, 8)}`,
  };
}

async function writePlan(deps: ActivityDeps, assignmentId: string, jobs: JobPlan[], comparable: Map<string, { taskKey: string; taskLabel: string }>): Promise<void> {
  const now = new Date();
  if (jobs.length > 0) {
    await bulkWriteInParts(deps.store, deps.store.jobs, jobs.map((job) => ({
      updateOne: {
        filter: { _id: `${assignmentId}/${job.jobId}` },
        update: {
          $set: {
            assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId, workflowId: jobWorkflowId(assignmentId, job.modelId, job.taskId),
            ...comparable.get(job.taskId), updatedAt: now,
          },
          $setOnInsert: { status: 'pending' as const, counts: emptyCounts(job.total) },
        },
        upsert: true,
      },
    })), { ordered: false });
  }
  const total = jobs.reduce((sum, j) => sum + j.total, 0);
  await deps.store.assignments.updateOne(
    { _id: assignmentId, status: { $in: ['pending', 'running', 'paused'] } },
    { $set: { status: 'running', 'counts.total': total, startedAt: now, updatedAt: now } },
  );
  await deps.store.events.updateOne(
    { _id: `${assignmentId}/started/${currentRunId()}` },
    { $setOnInsert: { assignmentId, type: 'started', at: now, data: { jobs: jobs.length, samples: total } } },
    { upsert: true },
  );
}
