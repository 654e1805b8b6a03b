import { Context } from '@temporalio/activity';
import type { ModelConfig, TaskConfig } from '../src/config/schema';
import {
  ErrorTypes,
  type CollectBatchInput, type CollectBatchResult, type PreparedSample, type SampleWaiter, type SampleWorkflowInput, type SubmitBatchInput,
} from '../src/contracts';
import { BatchClient, parseBatchFiles, type BatchAnswer } from '../src/providers/openai-batch';
import { renderPrompt } from '../src/providers/prompt';
import { createScorer, type Score, type Scorer } from '../src/scorers';
import { keyedSamples, type KeyedSample } from '../src/plan/samples';
import type { ProviderBatchDoc } from '../src/store/documents';
import { BuiltCache, type ActivityDeps, type ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { withHeartbeat } from './heartbeat';
import type { Inferred } from './infer';
import { promptContent, storeOutcome, storeResults, type FailureRecord, type StoredResult } from './records';
import { resultDocOf, storedPrediction } from './score';

/**
 * Collecting a provider batch: its output and error files are read, each answer is scored and stored
 * through the same path as an online call's (resultDocOf, storeResults: one result per sample key, one
 * record per sample index), each failed request is stored failed with the endpoint's error, and what the
 * batch never ran (expired, cancelled) is left for a resubmission or stored failed or canceled. Collecting
 * again (a retried attempt) writes the same documents again and answers the same counts.
 */

/** Requests scored and stored per bulk write. */
const PAGE = 500;

/** Builds the collect activity. */
export function collectActivities(deps: ActivityDeps, configs: ConfigCache) {
  const scorers = new BuiltCache<Scorer>();
  return {
    /** Stores how every request of an ended batch came out (see the module comment). */
    async collectProviderBatch(input: CollectBatchInput): Promise<CollectBatchResult> {
      try {
        return await withHeartbeat(() => collect(deps, configs, scorers, input));
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

async function collect(deps: ActivityDeps, configs: ConfigCache, scorers: BuiltCache<Scorer>, input: CollectBatchInput): Promise<CollectBatchResult> {
  const doc = await deps.store.providerBatches.findOne({ _id: input.key });
  if (doc) doc.requests ??= [];
  if (!doc) throw permanent(`no provider batch ${input.key} in MongoDB`, ErrorTypes.NotFound);
  if (doc.collected) return doc.collected;
  const [model, task] = await Promise.all([configs.model(doc.assignmentId, doc.modelId), configs.task(doc.assignmentId, doc.taskId)]);
  if (task.kind === 'agent') throw permanent(`task ${task.id} is an agent task: it cannot run as provider batches`, ErrorTypes.ConfigInvalid);
  const scorer = scorers.get(`${doc.assignmentId}/${task.id}`, () => createScorer(task.scorer));
  const outcome = await answersOf(deps, model, doc, input);
  const counts: CollectBatchResult = { succeeded: 0, failed: 0, canceled: 0, unanswered: 0 };
  const unanswered: string[] = [];
  const ctx: Parts = { deps, model, task, scorer, doc, input, startedAt: outcome.startedAt, latencyMs: outcome.latencyMs };
  for (let i = 0; i < doc.requests.length; i += PAGE) {
    const page = doc.requests.slice(i, i + PAGE);
    const keyed = await keyedSamples(model, task, page.flatMap((r) => r.indexes));
    const stored: StoredResult[] = [];
    for (const r of page) {
      const answer = outcome.answers.get(r.customId) ?? { kind: 'unanswered', error: outcome.missing };
      const first = keyed.get(r.indexes[0]) as KeyedSample;
      const sample = sampleInput(doc, input, r.indexes[0], first);
      const waiters = r.indexes.map((index): SampleWaiter => ({ jobWorkflowId: input.jobWorkflowId, assignmentId: doc.assignmentId, jobId: doc.jobId, index }));
      const status = await settle(ctx, answer, sample, first, waiters, stored);
      if (status === 'unanswered') unanswered.push(r.customId);
      counts[status] += r.indexes.length;
    }
    await storeResults(deps, stored);
    Context.current().heartbeat();
  }
  await deps.store.providerBatches.updateOne({ _id: doc._id }, { $set: { collected: counts, unanswered, updatedAt: new Date() } });
  return counts;
}

interface Parts {
  deps: ActivityDeps;
  model: ModelConfig;
  task: Extract<TaskConfig, { scorer: unknown }>;
  scorer: Scorer;
  doc: ProviderBatchDoc;
  input: CollectBatchInput;
  startedAt: Date;
  latencyMs: number;
}

/** The answers of a batch by custom_id, and what a request with no line in either file is told. */
async function answersOf(deps: ActivityDeps, model: ModelConfig, doc: ProviderBatchDoc, input: CollectBatchInput): Promise<{ answers: Map<string, BatchAnswer>; missing: string; startedAt: Date; latencyMs: number }> {
  if (input.failWith || !doc.remoteId) {
    return { answers: new Map(), missing: input.failWith ?? 'the batch was never submitted', startedAt: doc.createdAt, latencyMs: 0 };
  }
  const client = new BatchClient(model, deps.env);
  const remote = await client.retrieve(doc.remoteId);
  const [output, errors] = [await client.content(remote.outputFileId), await client.content(remote.errorFileId)];
  const answers = parseBatchFiles(output, errors);
  const why = remote.status === 'failed' ? `batch ${remote.id} failed${remote.errors ? `: ${remote.errors}` : ''}` : `not run: batch ${remote.id} ended ${remote.status} before it got to this request`;
  const latencyMs = remote.endedAt ? Math.max(0, (remote.endedAt - remote.createdAt) * 1000) : 0;
  // A failed batch ran nothing: its requests fail with the batch's own errors, never resubmitted.
  if (remote.status === 'failed') for (const r of doc.requests) if (!answers.has(r.customId)) answers.set(r.customId, { kind: 'failed', error: why });
  return { answers, missing: why, startedAt: new Date(remote.createdAt * 1000), latencyMs };
}

/** Scores and queues an answer, stores a failure, or says the request is left unanswered. */
async function settle(
  parts: Parts, answer: BatchAnswer, sample: SampleWorkflowInput, keyed: KeyedSample, waiters: SampleWaiter[], stored: StoredResult[],
): Promise<'succeeded' | 'failed' | 'canceled' | 'unanswered'> {
  const { deps, task, input } = parts;
  const prompt = renderPrompt(task, keyed.sample).prompt;
  if (answer.kind === 'answered') {
    const inferred: Inferred = {
      prediction: answer.text, input: prompt, usage: answer.usage, latencyMs: parts.latencyMs, attempts: parts.doc.round + 1,
      worker: deps.workerIdentity, startedAt: parts.startedAt.toISOString(),
    };
    const score: Score | null = input.mode === 'infer' ? null
      : await parts.scorer.score({ prediction: inferred.prediction, target: keyed.sample.target, sample: keyed.sample }, { signal: Context.current().cancellationSignal, env: deps.env });
    stored.push({ sample, waiters, doc: resultDocOf(sample, keyed, inferred, parts.model, score, task), score });
    return 'succeeded';
  }
  const policy = answer.kind === 'failed' ? 'failed' : input.unanswered;
  if (policy === 'resubmit') return 'unanswered';
  const failure: FailureRecord = {
    errorType: answer.kind === 'failed' ? ErrorTypes.ProviderPermanent : ErrorTypes.ProviderRetryable, attempts: parts.doc.round + 1,
    sampleId: keyed.sample.id, target: keyed.sample.target ?? null, ...promptContent(task, keyed.sample), ...(keyed.sample.epoch ? { epoch: keyed.sample.epoch } : {}),
  };
  await storeOutcome(deps, sample, waiters, policy, policy === 'canceled' ? 'canceled' : `${task.id}: ${answer.error}`, policy === 'failed' ? failure : undefined);
  return policy;
}

/** What the shared storing path needs to know of a sample (the fields an execution's input would carry). */
function sampleInput(doc: ProviderBatchDoc, input: { mode: 'all' | 'infer'; jobWorkflowId: string }, index: number, keyed: KeyedSample): SampleWorkflowInput {
  return {
    version: 1, assignmentId: doc.assignmentId, jobId: doc.jobId, modelId: doc.modelId, taskId: doc.taskId, index,
    sampleKey: keyed.sampleKey, inferenceKey: keyed.inferenceKey, parentWorkflowId: input.jobWorkflowId,
    inferenceQueue: '', inferTimeoutMs: 0, scoreInline: true, retry: { maxAttempts: 1, initialIntervalMs: 0, backoffCoefficient: 1, maxIntervalMs: 0 },
    mode: input.mode, predictionFrom: null,
  };
}

/**
 * Samples of a batch's range that --reuse names a stored prediction for: scored and stored now, like
 * the online path scores them, instead of being sent. Answers how many were stored.
 */
export async function scoreStoredPredictions(deps: ActivityDeps, configs: ConfigCache, input: SubmitBatchInput, prepared: PreparedSample[]): Promise<number> {
  if (prepared.length === 0) return 0;
  const [model, task] = await Promise.all([configs.model(input.assignmentId, input.job.modelId), configs.task(input.assignmentId, input.job.taskId)]);
  if (task.kind === 'agent') return 0;
  const scorer = createScorer(task.scorer);
  const keyed = await keyedSamples(model, task, prepared.map((p) => p.index));
  const doc = { assignmentId: input.assignmentId, jobId: input.job.jobId, modelId: input.job.modelId, taskId: input.job.taskId } as ProviderBatchDoc;
  const stored: StoredResult[] = [];
  for (const p of prepared) {
    const k = keyed.get(p.index) as KeyedSample;
    const inferred = await storedPrediction(deps, p.predictionFrom);
    const score = input.mode === 'infer' ? null
      : await scorer.score({ prediction: inferred.prediction, target: k.sample.target, sample: k.sample }, { signal: Context.current().cancellationSignal, env: deps.env });
    const sample = sampleInput(doc, input, p.index, k);
    stored.push({ sample, waiters: [{ jobWorkflowId: input.jobWorkflowId, assignmentId: input.assignmentId, jobId: input.job.jobId, index: p.index }], doc: resultDocOf(sample, k, inferred, model, score, task), score });
  }
  await storeResults(deps, stored);
  return stored.length;
}
