import type { AnyBulkWriteOperation, Collection, OptionalUnlessRequiredId } from 'mongodb';
import type { SampleOutcome, SampleStatus, SampleWaiter, SampleWorkflowInput, Counts, AssignmentStatus, FailureFacts } from '../src/contracts';
import { beat } from './heartbeat';
import { figuresOf, type ResultDoc, type ResultFigures, type SampleDoc, type StoredMessageDoc } from '../src/store/documents';
import { bulkWriteInParts, findByIds, onlyDuplicateKeys } from '../src/store/store';
import { currentRunId, type ActivityDeps, type ConfigCache } from './deps';
import { renderPrompt, storedMessages } from '../src/providers/prompt';
import type { TaskConfig } from '../src/config/schema';
import type { Sample } from '../src/datasets';
import { sampleFor } from '../src/plan/samples';
import { isDuplicateKey } from './failures';
import { searchTextOf } from '../src/store/search-text';

/**
 * Which stored statuses a write may not replace: an execution's success stands over everything, a reuse
 * never hides that this assignment ran the sample itself, and a failure or cancel never hides a success.
 */
const PROTECTED_FROM: Record<SampleStatus, SampleStatus[]> = {
  succeeded: [],
  reused: ['succeeded'],
  failed: ['succeeded', 'reused'],
  canceled: ['succeeded', 'reused'],
};

/** One sample of one assignment's job, as it ended. */
export interface SampleRecord {
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  index: number;
  sampleKey: string;
  /** Epoch (1-based) of a task with epochs, when the writer knows it. */
  epoch?: number;
  status: SampleStatus;
  score: number | null;
  passed?: boolean | null;
  /** The result's figures, when the record is written with its result. */
  figures?: ResultFigures;
  /** The result's searchable text (searchTextOf), when the record is written with its result. */
  text?: string;
}

/**
 * Upserts per-assignment sample documents and adds the assignments to the results they used. A stored
 * success is never downgraded to canceled or failed by a late, racing write.
 */
export async function recordSampleDocs(deps: ActivityDeps, records: SampleRecord[], opts: { resultsToo?: boolean } = {}): Promise<void> {
  if (records.length === 0) return;
  const now = new Date();
  const writable = deps.store.flavor === 'ferretdb' ? await unprotected(deps, records) : records;
  const docs: SampleDoc[] = writable.map((r) => ({ _id: sampleDocId(r), ...r, passed: r.passed ?? null, updatedAt: now }));
  // A record that exists already is updated instead, with the protection of its status (an update that
  // the protection skips ends as a duplicate key, which writeSampleDocs accepts).
  await insertElseUpdate(deps.store.samples, docs, (batch) => writeSampleDocs(deps, batch.map(({ _id, ...fields }) => ({
    updateOne: {
      filter: deps.store.flavor === 'ferretdb' ? { _id } : { _id, ...protectedFilter(fields.status) },
      update: { $set: fields },
      upsert: true,
    },
  }))));
  if (opts.resultsToo === false) return;
  const byKey = new Map<string, Set<string>>();
  for (const r of records) byKey.set(r.sampleKey, (byKey.get(r.sampleKey) ?? new Set()).add(r.assignmentId));
  await bulkWriteInParts(
    deps.store, deps.store.results,
    [...byKey].map(([key, ids]) => ({ updateOne: { filter: { _id: key }, update: { $addToSet: { assignments: { $each: [...ids] } } } } })),
  );
}

/**
 * Inserts documents in one bulk write, and hands those whose `_id` exists already to `update`. Most
 * writes here create their document, and an insert costs the database a third of an upsert.
 */
async function insertElseUpdate<T extends { _id: string }>(collection: Collection<T>, docs: T[], update: (existing: T[]) => Promise<void>): Promise<void> {
  if (docs.length === 0) return;
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], { ordered: false });
  } catch (err) {
    const taken = duplicateIndexes(err);
    if (!taken) throw err;
    await update(taken.map((i) => docs[i]));
  }
}

/** Positions of a failed bulk insert's documents that hit an existing `_id`; null if anything else failed. */
function duplicateIndexes(err: unknown): number[] | null {
  const writeErrors = (err as { writeErrors?: Array<{ code?: number; index?: number }> | { code?: number; index?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0 || !list.every((e) => e.code === 11000 && typeof e.index === 'number')) return null;
  return list.map((e) => e.index as number);
}

function sampleDocId(r: SampleRecord): string {
  return sampleRecordId(r.assignmentId, r.jobId, r.index);
}

/** The `_id` of one assignment's record of one sample. */
export function sampleRecordId(assignmentId: string, jobId: string, index: number): string {
  return `${assignmentId}/${jobId}/${index}`;
}

function protectedFilter(status: SampleStatus): Record<string, unknown> {
  return PROTECTED_FROM[status].length ? { status: { $nin: PROTECTED_FROM[status] } } : {};
}

/**
 * FerretDB scans for any filter beyond `_id`, so there the protection is a read before the write: a
 * narrower guarantee (two racing writers could still cross), kept for the local stack only.
 */
async function unprotected(deps: ActivityDeps, records: SampleRecord[]): Promise<SampleRecord[]> {
  const guarded = records.filter((r) => PROTECTED_FROM[r.status].length > 0);
  if (guarded.length === 0) return records;
  const existing = await findByIds(deps.store, deps.store.samples, guarded.map(sampleDocId), { status: 1 });
  const statusOf = new Map(existing.map((d) => [d._id, d.status]));
  return records.filter((r) => {
    const current = statusOf.get(sampleDocId(r));
    return !current || !PROTECTED_FROM[r.status].includes(current);
  });
}

async function writeSampleDocs(deps: ActivityDeps, ops: AnyBulkWriteOperation<SampleDoc>[]): Promise<void> {
  try {
    await bulkWriteInParts(deps.store, deps.store.samples, ops);
  } catch (err) {
    // A duplicate key here means the filter skipped a stored success: exactly the write we meant to skip.
    if (!isDuplicateKey(err) && !onlyDuplicateKeys(err)) throw err;
  }
}


/** Sample records for every waiter of an execution, each naming the waiter's own job, model and task. */
export function waiterRecords(
  sample: SampleWorkflowInput, waiters: SampleWaiter[], status: SampleStatus, score: number | null, passed?: boolean | null, figures?: ResultFigures,
  epoch?: number,
): SampleRecord[] {
  return waiters.map((w) => ({
    assignmentId: w.assignmentId, jobId: w.jobId, modelId: w.modelId ?? sample.modelId, taskId: w.taskId ?? sample.taskId, index: w.index,
    sampleKey: sample.sampleKey, ...(epoch !== undefined ? { epoch } : {}), status, score, passed: passed ?? null, ...(figures ? { figures } : {}),
  }));
}


/** One execution's stored result, for the executions' waiters. */
export interface StoredResult {
  sample: SampleWorkflowInput;
  waiters: SampleWaiter[];
  doc: Omit<ResultDoc, '_id' | 'assignments'>;
  /** Null for a prediction stored unscored (the infer stage). */
  score: { value: number; passed?: boolean } | null;
}

/**
 * Stores results by sample key (listing their waiters' assignments), then the waiters' sample records as
 * succeeded: the one write path of scoreAndStore, storeEpisode and the shard runner, two bulk writes for
 * any number of results.
 */
export async function storeResults(deps: ActivityDeps, items: StoredResult[]): Promise<void> {
  if (items.length === 0) return;
  const assignmentsOf = (waiters: SampleWaiter[]): string[] => [...new Set(waiters.map((w) => w.assignmentId))];
  const docs: ResultDoc[] = items.map(({ sample, waiters, doc }) => ({ _id: sample.sampleKey, ...doc, assignments: assignmentsOf(waiters) }));
  await insertElseUpdate(deps.store.results, docs, async (taken) => {
    await bulkWriteInParts(deps.store, deps.store.results, taken.map(({ _id, assignments, ...doc }) => ({
      updateOne: { filter: { _id }, update: { $set: doc, $addToSet: { assignments: { $each: assignments } } }, upsert: true },
    })));
  });
  await recordSampleDocs(
    deps,
    items.flatMap(({ sample, waiters, doc, score }) => {
      const text = searchTextOf(doc.input, doc.prediction);
      return waiterRecords(sample, waiters, 'succeeded', score?.value ?? null, score?.passed ?? null, figuresOf(doc), doc.epoch).map((r) => ({ ...r, text }));
    }),
    { resultsToo: false },
  );
}

/** Stores one successful result and its waiters' sample records (see storeResults). */
export async function storeSuccess(
  deps: ActivityDeps, sample: SampleWorkflowInput, waiters: SampleWaiter[], doc: Omit<ResultDoc, '_id' | 'assignments'>,
  score: { value: number; passed?: boolean },
): Promise<SampleOutcome> {
  await storeResults(deps, [{ sample, waiters, doc, score }]);
  beat();
  return { index: sample.index, sampleKey: sample.sampleKey, status: 'succeeded', score: score.value };
}

/** What a failed sample's result keeps: the failure's facts and, when they can be read, the sample's content. */
export interface FailureRecord extends FailureFacts {
  sampleId?: string;
  epoch?: number;
  input?: string;
  messages?: StoredMessageDoc[];
  target?: unknown;
}

/**
 * The prompt of a sample as the model got it: flattened (`input`) and as chat messages capped for storing.
 * Nothing for agent tasks (their transcript is the conversation) or a prompt that cannot be rendered.
 */
export function promptContent(task: TaskConfig, sample: Pick<Sample, 'fields' | 'id'>): Pick<FailureRecord, 'input' | 'messages'> {
  if (task.kind === 'agent') return {};
  try {
    const rendered = renderPrompt(task, sample);
    return { input: rendered.prompt, messages: storedMessages(rendered.messages) };
  } catch {
    return {};
  }
}

/**
 * Stores a failed or canceled execution (a failure never over a stored success) and the waiters' sample
 * records. A failure keeps the sample's id, input and target, its error type and the attempts made.
 */
export async function storeOutcome(
  deps: ActivityDeps, sample: SampleWorkflowInput, waiters: SampleWaiter[], status: 'failed' | 'canceled', error: string, failure?: FailureRecord,
): Promise<SampleOutcome> {
  if (status === 'failed') await storeFailure(deps, sample, error, failure ?? { errorType: null, attempts: null });
  // A failure's input is its searchable text; without it (the dataset could not be read) finalisation reads the result's.
  const text = status === 'failed' && failure?.input !== undefined ? { text: searchTextOf(failure.input, null) } : {};
  await recordSampleDocs(deps, waiterRecords(sample, waiters, status, null, null, undefined, failure?.epoch).map((r) => ({ ...r, ...text })));
  return { index: sample.index, sampleKey: sample.sampleKey, status, error };
}

/** The sample's id, rendered prompt and target, read again from the dataset; nothing when it cannot be read. */
export async function failedSampleContent(configs: ConfigCache, sample: SampleWorkflowInput): Promise<Pick<FailureRecord, 'sampleId' | 'input' | 'messages' | 'target' | 'epoch'>> {
  try {
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
    return { sampleId: keyed.sample.id, target: keyed.sample.target ?? null, ...promptContent(task, keyed.sample), ...(keyed.sample.epoch ? { epoch: keyed.sample.epoch } : {}) };
  } catch {
    // The dataset changed or is gone: that is usually why the sample failed; the error says so.
    return {};
  }
}

/** Activities that record outcomes: failures and cancels as data, late waiters, job endings. */
export function recordActivities(deps: ActivityDeps, configs: ConfigCache) {
  return {
    /** Stores a failed or canceled execution (never over a stored success) and the waiters' sample records. */
    async recordOutcome(input: { sample: SampleWorkflowInput; waiters: SampleWaiter[]; status: 'failed' | 'canceled'; error: string; failure?: FailureFacts }): Promise<SampleOutcome> {
      const failure = input.status === 'failed'
        ? { errorType: input.failure?.errorType ?? null, attempts: input.failure?.attempts ?? null, ...(await failedSampleContent(configs, input.sample)) }
        : undefined;
      return storeOutcome(deps, input.sample, input.waiters, input.status, input.error, failure);
    },

    /** Records sample documents for jobs that adopted an execution after its outcome was stored. */
    async recordUses(input: { sample: SampleWorkflowInput; outcome: SampleOutcome; waiters: SampleWaiter[] }): Promise<void> {
      await recordSampleDocs(deps, waiterRecords(input.sample, input.waiters, input.outcome.status, input.outcome.score ?? null));
    },

    /** Jobs of an assignment that have failed samples, for another automatic retry round. */
    async jobsWithFailures(input: { assignmentId: string }): Promise<string[]> {
      const docs = await deps.store.samples.find({ assignmentId: input.assignmentId, status: 'failed' }, { projection: { jobId: 1 } }).toArray();
      return [...new Set(docs.map((d) => d.jobId))].sort();
    },

    /** Records one lifecycle event of an assignment, once per workflow run. */
    async recordEvent(input: { assignmentId: string; type: string; data?: Record<string, unknown> }): Promise<void> {
      const at = new Date();
      await deps.store.events.updateOne(
        { _id: `${input.assignmentId}/${input.type}/${currentRunId()}/${JSON.stringify(input.data ?? {})}` },
        { $setOnInsert: { assignmentId: input.assignmentId, type: input.type, at, data: input.data } },
        { upsert: true },
      );
    },

    /** Mirrors a job's ending and counts into MongoDB. */
    async recordJobEnd(input: { assignmentId: string; jobId: string; status: AssignmentStatus; counts: Counts }): Promise<void> {
      await deps.store.jobs.updateOne(
        { _id: `${input.assignmentId}/${input.jobId}` },
        { $set: { status: input.status, counts: input.counts, updatedAt: new Date() } },
      );
    },
  };
}

async function storeFailure(deps: ActivityDeps, sample: SampleWorkflowInput, error: string, failure: FailureRecord): Promise<void> {
  const now = new Date();
  // A stored success is never replaced by a late failure; checked by `_id` first, since FerretDB
  // answers only `_id`-only filters from an index.
  const current = await deps.store.results.findOne({ _id: sample.sampleKey }, { projection: { status: 1 } });
  if (current?.status === 'succeeded') return;
  // What is known now replaces what an earlier failure stored; what is not known keeps the older value.
  const known = {
    ...(failure.sampleId !== undefined ? { sampleId: failure.sampleId } : {}),
    ...(failure.input !== undefined ? { input: failure.input } : {}),
    ...(failure.messages !== undefined ? { messages: failure.messages } : {}),
    ...(failure.target !== undefined ? { target: failure.target } : {}),
    ...(failure.attempts !== null ? { attempts: failure.attempts } : {}),
    ...(failure.epoch !== undefined ? { epoch: failure.epoch } : {}),
  };
  const fallback = { sampleId: String(sample.index), input: '', target: null, attempts: 1 };
  const onInsert = Object.fromEntries(Object.entries(fallback).filter(([k]) => !(k in known)));
  try {
    await deps.store.results.updateOne(
      deps.store.flavor === 'ferretdb' ? { _id: sample.sampleKey } : { _id: sample.sampleKey, status: { $ne: 'succeeded' } },
      {
        $set: {
          status: 'failed', error, errorType: failure.errorType, finishedAt: now, updatedAt: now, modelId: sample.modelId, taskId: sample.taskId,
          sampleIndex: sample.index, inferenceKey: sample.inferenceKey, ...known,
        },
        $setOnInsert: { ...onInsert, assignments: [] },
      },
      { upsert: true },
    );
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
