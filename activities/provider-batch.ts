import { Context, sleep } from '@temporalio/activity';
import type { ModelConfig, TaskConfig } from '../src/config/schema';
import { sha256Hex } from '../src/config/canonical';
import {
  ENDED_BATCH_STATUSES, ErrorTypes,
  type CancelBatchInput, type JobBatch, type PolledBatch, type RemoteBatchStatus, type SubmitBatchInput, type SubmitBatchResult,
} from '../src/contracts';
import { BatchClient, requestLine, type BatchRequestLine, type RemoteBatch } from '../src/providers/openai-batch';
import { renderPrompt } from '../src/providers/prompt';
import { keyedSamples } from '../src/plan/samples';
import type { ProviderBatchDoc } from '../src/store/documents';
import type { ActivityDeps, ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { withHeartbeat } from './heartbeat';
import { holdOf, isHeld } from './infer';
import { prepareSamples } from './plan';
import { collectActivities, scoreStoredPredictions } from './provider-batch-collect';

/**
 * Provider batch mode (`provider.batch`): the activities a job workflow (workflows/provider-batch.ts) runs
 * on the model's inference queue, where the worker holds the endpoint's key. Submission is exactly once:
 * the batch's document in MongoDB records each step before it is taken (upload started, create started)
 * and its result after (file id, remote batch id), and a retried attempt that finds a step started but
 * not finished looks on the endpoint for what the lost attempt did (the file by its name, the batch by
 * the key in its metadata) before doing anything again.
 */

/** Sample indexes keyed and classified per read while a batch is built. */
const PAGE = 500;
/** How far back (seconds) before a recorded create start the endpoint's batch list is searched. */
const CLOCK_SKEW_S = 3_600;

/** Builds the provider batch activities. */
export function providerBatchActivities(deps: ActivityDeps, configs: ConfigCache) {
  const models = async (assignmentId: string, modelId: string, taskId: string): Promise<[ModelConfig, TaskConfig]> =>
    Promise.all([configs.model(assignmentId, modelId), configs.task(assignmentId, taskId)]);

  return {
    /**
     * Builds one batch (the requests of its range not answered before, or what the previous round left
     * unanswered), uploads it and creates it on the endpoint, once however often it is retried. Answers
     * `held` without sending anything while the assignment is paused or being cancelled.
     */
    async submitProviderBatch(input: SubmitBatchInput): Promise<SubmitBatchResult> {
      const [model, task] = await models(input.assignmentId, input.job.modelId, input.job.taskId);
      try {
        return await withHeartbeat(() => submit(deps, configs, model, task, input));
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** The endpoint's state of each running batch of a job, mirrored into MongoDB for `status`. */
    async pollProviderBatches(input: { assignmentId: string; modelId: string; taskId: string; batches: Array<{ key: string; remoteId: string }> }): Promise<PolledBatch[]> {
      const [model] = await models(input.assignmentId, input.modelId, input.taskId);
      const client = new BatchClient(model, deps.env);
      try {
        return await Promise.all(input.batches.map(async (b) => {
          const remote = await client.retrieve(b.remoteId);
          await mirror(deps, b.key, remote);
          return { key: b.key, status: remote.status, counts: remote.counts };
        }));
      } catch (err) {
        throw toFailure(err);
      }
    },

    /**
     * Asks the endpoint to cancel a batch (also one whose creation an interrupted submission may have left
     * unrecorded) and waits up to `waitMs` for it to end, so its collection sees what did complete.
     */
    async cancelProviderBatch(input: CancelBatchInput & { modelId: string; taskId: string }): Promise<RemoteBatchStatus | null> {
      const [model] = await models(input.assignmentId, input.modelId, input.taskId);
      try {
        return await withHeartbeat(() => cancel(deps, new BatchClient(model, deps.env), input));
      } catch (err) {
        throw toFailure(err);
      }
    },

    ...collectActivities(deps, configs),
  };
}

async function submit(deps: ActivityDeps, configs: ConfigCache, model: ModelConfig, task: TaskConfig, input: SubmitBatchInput): Promise<SubmitBatchResult> {
  const { batch } = input;
  const docs = deps.store.providerBatches;
  await deps.store.jobs.updateOne(
    { _id: `${input.assignmentId}/${input.job.jobId}` },
    { $set: { status: 'running', ...(input.counts ? { counts: input.counts } : {}), updatedAt: new Date() } },
  );
  let doc = await readBatch(deps, batch.key);
  if (doc && doc.remoteId !== undefined) return resultOf(doc);
  doc ??= await planBatch(deps, configs, model, input);
  if (doc.requests.length === 0) {
    await docs.updateOne({ _id: batch.key }, { $set: { remoteId: null, status: 'empty', updatedAt: new Date() } });
    return { ...resultOf(doc), remoteId: null, status: null };
  }
  if (isHeld(await holdOf(deps, input.assignmentId))) return { ...resultOf(doc), remoteId: null, status: null, held: true };
  const client = new BatchClient(model, deps.env);
  if (doc.createStartedAt) {
    const found = await client.findBatch(batch.key, Math.floor(doc.createStartedAt.getTime() / 1000) - CLOCK_SKEW_S);
    if (found) return recordRemote(deps, doc, found);
  }
  const filename = batchFilename(batch);
  let fileId = doc.fileId ?? (doc.uploadStartedAt ? await client.findFile(filename) : undefined);
  if (!fileId) {
    await docs.updateOne({ _id: batch.key }, { $set: { uploadStartedAt: new Date(), updatedAt: new Date() } });
    fileId = await client.upload(filename, await requestLines(model, task, doc));
  }
  await docs.updateOne({ _id: batch.key }, { $set: { fileId, createStartedAt: new Date(), updatedAt: new Date() } });
  const labels = { evalctl_assignment: input.assignmentId.slice(0, 512), evalctl_job: input.job.jobId.slice(0, 512) };
  const remote = await client.create(fileId, client.endpoint(), batch.key, labels);
  return recordRemote(deps, doc, remote);
}

/**
 * The batch's document with its requests: for the first round, the range's samples that have no stored
 * answer (reused ones are recorded as reused, stored predictions named by --reuse are scored now); for a
 * later round, what the previous round left unanswered.
 */
async function planBatch(deps: ActivityDeps, configs: ConfigCache, model: ModelConfig, input: SubmitBatchInput): Promise<ProviderBatchDoc> {
  const { batch, job } = input;
  const byKey = new Map<string, number[]>();
  let reused = 0;
  let scored = 0;
  if (batch.previousKey) {
    const previous = await readBatch(deps, batch.previousKey);
    if (!previous?.unanswered) throw permanent(`provider batch ${batch.previousKey} has no collected unanswered requests to resubmit`, ErrorTypes.NotFound);
    const left = new Set(previous.unanswered);
    for (const r of previous.requests) if (left.has(r.customId)) byKey.set(r.customId, r.indexes);
  } else {
    for (let from = batch.start; from < batch.end; from += PAGE) {
      const indexes = Array.from({ length: Math.min(PAGE, batch.end - from) }, (_, i) => from + i);
      const { prepared } = await prepareSamples(deps, configs, { assignmentId: input.assignmentId, job, mode: input.mode, indexes });
      reused += prepared.filter((p) => p.reused).length;
      scored += await scoreStoredPredictions(deps, configs, input, prepared.filter((p) => !p.reused && p.predictionFrom));
      for (const p of prepared) if (!p.reused && !p.predictionFrom) byKey.set(p.sampleKey, [...(byKey.get(p.sampleKey) ?? []), p.index]);
      Context.current().heartbeat();
    }
  }
  const now = new Date();
  const doc: ProviderBatchDoc = {
    _id: batch.key, assignmentId: input.assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId,
    start: batch.start, end: batch.end, round: batch.round, ...(batch.previousKey ? { previousKey: batch.previousKey } : {}),
    requests: [...byKey].map(([customId, indexes]) => ({ customId, indexes })), reused, scored, status: 'preparing', createdAt: now, updatedAt: now,
  };
  // A concurrent or earlier attempt's document wins: the requests of a batch never change once written.
  await deps.store.providerBatches.updateOne({ _id: batch.key }, { $setOnInsert: doc }, { upsert: true });
  return (await readBatch(deps, batch.key)) as ProviderBatchDoc;
}

/** A batch's document; an empty request list may come back without the field (FerretDB drops it). */
export async function readBatch(deps: ActivityDeps, key: string): Promise<ProviderBatchDoc | null> {
  const doc = await deps.store.providerBatches.findOne({ _id: key });
  if (doc) doc.requests ??= [];
  return doc;
}

/** The request lines of a batch, rendered from the dataset as an online call renders them. */
async function requestLines(model: ModelConfig, task: TaskConfig, doc: ProviderBatchDoc): Promise<BatchRequestLine[]> {
  if (task.kind === 'agent') throw permanent(`task ${task.id} is an agent task: it cannot run as provider batches`, ErrorTypes.ConfigInvalid);
  const lines: BatchRequestLine[] = [];
  for (let i = 0; i < doc.requests.length; i += PAGE) {
    const page = doc.requests.slice(i, i + PAGE);
    const keyed = await keyedSamples(model, task, page.map((r) => r.indexes[0]));
    for (const r of page) {
      const k = keyed.get(r.indexes[0]);
      if (!k || k.sampleKey !== r.customId) throw permanent(`task ${task.id}: sample ${r.indexes[0]} changed since its batch was planned (dataset file edited during the run)`, ErrorTypes.DatasetInvalid);
      lines.push(requestLine(model, r.customId, renderPrompt(task, k.sample)));
    }
    Context.current().heartbeat();
  }
  return lines;
}

/** A batch file's name: the same for every attempt at the batch, so an upload a lost attempt made is found. */
function batchFilename(batch: JobBatch): string {
  return `evalctl-${sha256Hex(batch.key).slice(0, 32)}.jsonl`;
}

async function recordRemote(deps: ActivityDeps, doc: ProviderBatchDoc, remote: RemoteBatch): Promise<SubmitBatchResult> {
  await deps.store.providerBatches.updateOne(
    { _id: doc._id },
    { $set: { remoteId: remote.id, status: remote.status, counts: remote.counts, updatedAt: new Date() } },
  );
  return { ...resultOf(doc), remoteId: remote.id, status: remote.status };
}

function resultOf(doc: ProviderBatchDoc): SubmitBatchResult {
  return {
    remoteId: doc.remoteId ?? null, requests: doc.requests.length, indexes: doc.requests.reduce((n, r) => n + r.indexes.length, 0),
    reused: doc.reused, scored: doc.scored ?? 0, status: doc.status === 'preparing' || doc.status === 'empty' ? null : doc.status,
  };
}

async function mirror(deps: ActivityDeps, key: string, remote: RemoteBatch): Promise<void> {
  await deps.store.providerBatches.updateOne({ _id: key }, { $set: { status: remote.status, counts: remote.counts, updatedAt: new Date() } });
}

async function cancel(deps: ActivityDeps, client: BatchClient, input: CancelBatchInput): Promise<RemoteBatchStatus | null> {
  const doc = await readBatch(deps, input.key);
  if (!doc) return null;
  let remoteId = doc.remoteId ?? undefined;
  if (!remoteId && doc.createStartedAt) {
    const found = await client.findBatch(input.key, Math.floor(doc.createStartedAt.getTime() / 1000) - CLOCK_SKEW_S);
    if (found) await recordRemote(deps, doc, found);
    remoteId = found?.id;
  }
  if (!remoteId) return null;
  let remote = await client.retrieve(remoteId);
  if (!ENDED_BATCH_STATUSES.includes(remote.status) && remote.status !== 'cancelling') remote = await client.cancel(remoteId);
  const deadline = Date.now() + input.waitMs;
  while (!ENDED_BATCH_STATUSES.includes(remote.status) && Date.now() < deadline) {
    await sleep(Math.min(1_000, Math.max(50, deadline - Date.now())));
    remote = await client.retrieve(remoteId);
  }
  await mirror(deps, input.key, remote);
  return remote.status;
}
