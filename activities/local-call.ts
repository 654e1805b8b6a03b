import { ApplicationFailure, Context, sleep } from '@temporalio/activity';
import { ErrorTypes, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import { sampleFor, type KeyedSample } from '../src/plan/samples';
import { BudgetExhaustedError, checkBudget } from './budget';
import type { ActivityDeps, ConfigCache } from './deps';
import { toFailure } from './failures';
import { isStopping, watchHold, type HoldCache } from './holds';
import type { Inferred, ModelCall } from './infer';
import { untilStored } from './mongo-retry';
import { storeResults } from './records';
import type { ScoreInput } from './score';
import { processSlots } from './slots';

/** Input of the local model call of a sample workflow (JobPlan.localCall). */
export interface LocalCallInput {
  sample: SampleWorkflowInput;
  waiters: SampleWaiter[];
  /**
   * Epoch ms of the execution's start when the workflow task that runs this call is not the execution's
   * first (a worker was lost, or the server refused a completion that had new signals to handle): a result
   * stored since then is this execution's own, whose record went with the lost task, and is used as it is.
   */
  retriedSince?: number;
}

/**
 * The model call of the per-sample local path, scored and stored in one step inside the worker that runs
 * the sample workflow. A local activity is neither heartbeated nor cancelled through the server while its
 * workflow task runs, so the assignment's pause and cancel flags are watched here (the process-wide copy,
 * at most HOLD_FLAGS_MAX_AGE_MS old): no call starts while paused, and a cancel aborts the call in flight.
 */
export function localCallActivities(
  deps: ActivityDeps, configs: ConfigCache, callModel: ModelCall, scoreAndStore: (input: ScoreInput, read?: KeyedSample) => Promise<SampleOutcome>, holds: HoldCache,
) {
  const slots = processSlots(deps);

  /**
   * Calls the model within the process's slots, aborted when the assignment stops; a stop ends canceled.
   * Returns the sample as read too, so storing does not read it again.
   */
  async function call(sample: SampleWorkflowInput): Promise<{ inferred: Inferred; keyed: KeyedSample }> {
    const ctx = Context.current();
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    await waitUntilFree(holds, sample.assignmentId, ctx.cancellationSignal);
    const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
    const watch = watchHold(holds, sample.assignmentId, ctx.cancellationSignal);
    try {
      const release = await slots?.take(watch.signal);
      try {
        return { inferred: await callModel(sample.assignmentId, model, task, keyed, watch.signal, ctx.info.attempt, ctx.info.scheduledTimestampMs), keyed };
      } finally {
        release?.();
      }
    } catch (err) {
      if (watch.stopped()) throw canceled(sample.assignmentId);
      if (err instanceof BudgetExhaustedError) await heldByBudget(sample.assignmentId, err);
      throw toFailure(err);
    } finally {
      watch.end();
    }
  }

  /** A call refused by the spent budget waits for the assignment's stop, and ends canceled (as a held call does). */
  async function heldByBudget(assignmentId: string, err: BudgetExhaustedError): Promise<void> {
    const { budget } = await configs.get(assignmentId);
    for (;;) {
      if (isStopping(await holds.get(assignmentId))) throw canceled(assignmentId);
      if (!budget || (await checkBudget(deps, assignmentId, budget).then(() => true, () => false))) throw toFailure(err);
      await sleep(1_000);
    }
  }

  return {
    /** One sample's model call, scored and stored (see localCallActivities); a stored result of a lost task is used instead. */
    async callAndScoreLocal(input: LocalCallInput): Promise<SampleOutcome> {
      if (input.retriedSince !== undefined) {
        const stored = await storedOutcome(deps, input.sample, input.waiters, input.retriedSince);
        if (stored) return stored;
      }
      const { inferred, keyed } = await call(input.sample);
      try {
        return await untilStored(() => scoreAndStore({ sample: input.sample, inferred, waiters: input.waiters }, keyed));
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

/** Waits while the assignment is paused; ends canceled if it is stopping or the activity is cancelled. */
async function waitUntilFree(holds: HoldCache, assignmentId: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    const hold = await holds.get(assignmentId);
    if (isStopping(hold) || signal.aborted) throw canceled(assignmentId);
    if (!hold.paused) return;
    await sleep(250);
  }
}

function canceled(assignmentId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`assignment ${assignmentId} is stopping: the model call was not made or was aborted`, ErrorTypes.Canceled);
}

/**
 * This execution's result when it was stored since `since` (by an earlier attempt of the workflow task that
 * was lost with its record), written again for the waiters known now; undefined when there is none.
 */
async function storedOutcome(deps: ActivityDeps, sample: SampleWorkflowInput, waiters: SampleWaiter[], since: number): Promise<SampleOutcome | undefined> {
  const status = sample.mode === 'infer' ? 'inferred' : 'succeeded';
  // By `_id` alone, checked here: FerretDB answers only `{_id: value}` from its index and would read the
  // whole collection for the same filter with more conditions.
  const doc = await deps.store.results.findOne({ _id: sample.sampleKey });
  if (!doc || doc.status !== status || !(doc.finishedAt instanceof Date) || doc.finishedAt.getTime() < since) return undefined;
  const { _id, assignments, ...rest } = doc;
  void _id;
  void assignments;
  const score = doc.score ? { value: doc.score.value, ...(doc.score.passed !== undefined ? { passed: doc.score.passed } : {}) } : null;
  await untilStored(() => storeResults(deps, [{ sample, waiters, doc: rest, score: sample.mode === 'infer' ? null : score }]));
  return { index: sample.index, sampleKey: sample.sampleKey, status: 'succeeded', ...(score && sample.mode !== 'infer' ? { score: score.value } : {}) };
}
