import { WorkflowNotFoundError } from '@temporalio/client';
import { keyedSamples } from '../plan/samples';
import { classifyBatch, type ReuseFrom } from '../plan/reuse';
import { fanoutFor, inferenceQueueFor, providerBatchLabel, sampleCallLabel } from '../plan/jobs';
import { openTaskSamples } from '../environments';
import type { AssignmentConfig, ModelConfig, TaskConfig } from '../config/schema';
import { jobIdOf, sampleWorkflowId, type RunMode } from '../contracts';
import type { Store } from '../store/store';
import type { TemporalHandle } from '../temporal/client';
import { paramsFor } from '../config/limits';
import { renderPrompt } from '../providers/prompt';
import { costOf } from '../metrics/cost';
import { estimateCall } from '../metrics/estimate';
import type { BudgetConfig } from '../config/schema';

/** One job of a dry run: where its calls would go and what would happen to its samples. */
export interface JobPreview {
  jobId: string;
  modelId: string;
  taskId: string;
  queue: string;
  /** The fan-out the job would run with, and why (`auto` decides by the job's window). */
  fanout: 'per-sample' | 'batch';
  fanoutReason: string;
  /** Set for a model in provider batch mode: how its requests go out instead of the fan-out. */
  providerBatch?: string;
  samples: number;
  reused: number;
  adopted: number;
  executed: number;
  /** In eval mode or with --reuse: samples scored from a stored prediction, with no model call. */
  rescored: number;
  /** Estimated usage and cost of the executed samples' model calls (see src/metrics/estimate.ts); agent tasks are not estimated. */
  estimate: Estimate;
}

/** Estimated tokens and cost of model calls. */
export interface Estimate {
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

/** What `start --dry-run` prints. */
export interface AssignmentPreview {
  name: string;
  mode: RunMode;
  jobs: JobPreview[];
  totals: Omit<JobPreview, 'jobId' | 'modelId' | 'taskId' | 'queue' | 'fanout' | 'fanoutReason' | 'providerBatch'>;
  /** The config's budget, and whether the estimate stays within it. */
  budget?: { limits: BudgetConfig; fits: boolean };
}

const PAGE = 500;

/**
 * The plan of an assignment without starting anything: per job, how many samples would be reused (stored
 * success), adopted (running now in another assignment), rescored from a stored prediction, or executed.
 * The same rules as the real run decide it (classifyBatch).
 */
export async function previewAssignment(
  store: Store, temporal: TemporalHandle, config: AssignmentConfig, mode: RunMode, reuseFrom: ReuseFrom, noReuse = false,
): Promise<AssignmentPreview> {
  const othersRunning = (await store.assignments.countDocuments({ status: { $in: ['pending', 'running', 'paused'] } })) > 0;
  const jobs: JobPreview[] = [];
  for (const model of config.models) {
    for (const task of config.tasks) {
      const job = await previewJob(store, temporal, model, task, mode, reuseFrom, othersRunning, noReuse);
      const { fanout, reason: why } = fanoutFor(config, model, task);
      const reason = fanout === 'per-sample' && task.kind !== 'agent' ? `${why}; ${sampleCallLabel(fanout, model, task)}` : why;
      const batched = mode === 'all' || mode === 'infer' ? providerBatchLabel(model) : undefined;
      jobs.push({ ...job, fanout, fanoutReason: reason, ...(batched ? { providerBatch: batched } : {}) });
    }
  }
  const totals = { samples: 0, reused: 0, adopted: 0, executed: 0, rescored: 0 };
  const estimate: Estimate = { inputTokens: 0, outputTokens: 0, cost: 0 };
  for (const j of jobs) {
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += j[k];
    for (const k of Object.keys(estimate) as Array<keyof Estimate>) estimate[k] += j.estimate[k];
  }
  const preview: AssignmentPreview = { name: config.name, mode, jobs, totals: { ...totals, estimate } };
  if (config.budget) preview.budget = { limits: config.budget, fits: fitsBudget(config.budget, estimate) };
  return preview;
}

/** Whether an estimate stays within every limit of a budget. */
export function fitsBudget(budget: BudgetConfig, e: Estimate): boolean {
  return (budget.maxCost === undefined || e.cost <= budget.maxCost) && (budget.maxTokens === undefined || e.inputTokens + e.outputTokens <= budget.maxTokens);
}

async function previewJob(
  store: Store, temporal: TemporalHandle, model: ModelConfig, task: TaskConfig, mode: RunMode, reuseFrom: ReuseFrom, othersRunning: boolean, noReuse: boolean,
): Promise<Omit<JobPreview, 'fanout' | 'fanoutReason' | 'providerBatch'>> {
  const dataset = await openTaskSamples(task);
  const job: Omit<JobPreview, 'fanout' | 'fanoutReason' | 'providerBatch'> = {
    jobId: jobIdOf(model.id, task.id), modelId: model.id, taskId: task.id, queue: inferenceQueueFor(model),
    samples: dataset.count, reused: 0, adopted: 0, executed: 0, rescored: 0, estimate: { inputTokens: 0, outputTokens: 0, cost: 0 },
  };
  const params = paramsFor(model.params, task);
  for (let start = 0; start < dataset.count; start += PAGE) {
    const indexes = Array.from({ length: Math.min(PAGE, dataset.count - start) }, (_, i) => start + i);
    const keyed = await keyedSamples(model, task, indexes);
    const { prepared } = await classifyBatch(store, mode, reuseFrom, indexes.map((i) => [i, keyed.get(i)!]), noReuse ? { ownId: null } : null);
    for (const p of prepared) {
      if (p.reused) job.reused += 1;
      else if (mode === 'report') continue;
      else if (othersRunning && (await isRunning(temporal, p.sampleKey))) job.adopted += 1;
      else if (p.predictionFrom) job.rescored += 1;
      else {
        job.executed += 1;
        if (task.kind !== 'agent') addEstimate(job.estimate, estimateCall(renderPrompt(task, keyed.get(p.index)!.sample).prompt, params), model);
      }
    }
  }
  return job;
}

function addEstimate(into: Estimate, usage: { inputTokens: number; outputTokens: number }, model: ModelConfig): void {
  into.inputTokens += usage.inputTokens;
  into.outputTokens += usage.outputTokens;
  into.cost += costOf(usage, model.pricing);
}

async function isRunning(temporal: TemporalHandle, sampleKey: string): Promise<boolean> {
  try {
    const d = await temporal.client.workflow.getHandle(sampleWorkflowId(sampleKey)).describe();
    return d.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
