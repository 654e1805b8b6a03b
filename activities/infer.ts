import { Context } from '@temporalio/activity';
import { createProvider, renderPrompt, type Provider } from '../src/providers';
import type { ModelConfig, TaskConfig } from '../src/config/schema';
import type { SampleOutcome, SampleWaiter, SampleWorkflowInput } from '../src/contracts';
import { untilStored } from './mongo-retry';
import type { ScoreInput } from './score';
import { BuiltCache, type ActivityDeps, type ConfigCache } from './deps';
import { toFailure } from './failures';
import { waitWhile, withHeartbeat } from './heartbeat';
import { sampleFor, type KeyedSample } from '../src/plan/samples';
import { processSlots } from './slots';
import { paramsFor } from '../src/config/limits';
import { withinLimits } from './limits';
import { BudgetExhaustedError, chargeCall, checkBudget } from './budget';
import { EndpointGate } from './endpoint-gate';
import type { HoldCache } from './holds';

/** What a model call hands to scoring, through history: the prediction and its accounting. */
export interface Inferred {
  prediction: string;
  input: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  attempts: number;
  worker: string;
  startedAt: string;
}

/** What an infer attempt heartbeats, for the next attempt. */
interface InferHeartbeat {
  since: number;
}

/**
 * One model call for one keyed sample, by the process's cached provider of that model. `since` is when
 * the sample's first attempt started (epoch ms): the task's time limit counts from it.
 */
export type ModelCall = (assignmentId: string, model: ModelConfig, task: TaskConfig, keyed: KeyedSample, signal: AbortSignal, attempt: number, since: number) => Promise<Inferred>;

/**
 * The model call shared by the per-sample activities and the shard runner: renders the prompt, holds the
 * model's devices, waits for a place at the endpoint (adaptive concurrency), checks the assignment's budget,
 * calls the provider built once per (assignment, model) in this process within the task's limits, and adds
 * what the call used to the spend.
 */
export function modelCaller(deps: ActivityDeps, configs: ConfigCache): ModelCall {
  const providers = new BuiltCache<Provider>();
  const gate = new EndpointGate({ endpoints: deps.store.endpoints, leases: deps.store.endpointLeases }, deps.workerIdentity);
  return async (assignmentId, model, task, keyed, signal, attempt, since) => {
    const { budget } = await configs.get(assignmentId);
    const rendered = renderPrompt(task, keyed.sample);
    const lease = deps.leaseDevices ? await deps.leaseDevices(model) : undefined;
    const startedAt = new Date();
    const provider = providers.get(`${assignmentId}/${model.id}`, () => createProvider(model));
    const request = { sampleKey: keyed.sampleKey, messages: rendered.messages, prompt: rendered.prompt, params: paramsFor(model.params, task), target: keyed.sample.target };
    try {
      const prediction = await withinLimits(task, since, signal, async (limited) => {
        // With adaptive concurrency, the call waits for a place at its endpoint, shared by every worker.
        const answer = await gate.run(model, limited, async () => {
          // Checked last, right before the call, so no wait (a --slots place, the endpoint) lets a call past a spent budget.
          if (budget) await checkBudget(deps, assignmentId, budget);
          return provider.infer(request, { signal: limited, env: deps.env, extraEnv: lease?.env });
        });
        // Charged before the limits judge the answer: a call past the token limit was paid for too.
        if (budget) await untilStored(() => chargeCall(deps, assignmentId, model, answer.usage));
        return answer;
      });
      return {
        prediction: prediction.text, input: rendered.prompt, usage: prediction.usage, latencyMs: prediction.latencyMs,
        attempts: attempt, worker: deps.workerIdentity, startedAt: startedAt.toISOString(),
      };
    } finally {
      lease?.release();
    }
  };
}

/** Builds the activities of the inference queues: a model call, or a model call scored and stored in one step. */
export function inferActivities(
  deps: ActivityDeps, configs: ConfigCache, callModel: ModelCall, scoreAndStore: (input: ScoreInput) => Promise<SampleOutcome>, holds: HoldCache,
) {
  const slots = processSlots(deps);
  /**
   * One model call for one sample. Waits while the assignment is paused or being canceled, so no call
   * starts then; the call itself is aborted when the activity is cancelled.
   */
  async function infer(input: { sample: SampleWorkflowInput }): Promise<Inferred> {
    const { sample } = input;
    const ctx = Context.current();
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    // The process's copy of the flags (at most HOLD_FLAGS_MAX_AGE_MS old, which a pause waits out), not a read per sample.
    await waitWhile(async () => isHeld(await holds.get(sample.assignmentId)));
    const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
    // When the sample's first attempt started, carried to later attempts in the heartbeat: the time limit counts from it.
    const since = (ctx.info.heartbeatDetails as InferHeartbeat | undefined)?.since ?? Date.now();
    try {
      return await withHeartbeat(async (signal) => {
        const release = await slots?.take(signal);
        try {
          return await callModel(sample.assignmentId, model, task, keyed, signal, ctx.info.attempt, since);
        } finally {
          release?.();
        }
      }, { since } satisfies InferHeartbeat);
    } catch (err) {
      if (err instanceof BudgetExhaustedError) await heldByBudget(sample.assignmentId);
      throw toFailure(err);
    }
  }

  /**
   * A call refused by the spent budget waits, as a held call does, for the assignment's stop to cancel it
   * (the sample ends canceled, not failed); checking again re-sends the stop should it have been lost.
   */
  async function heldByBudget(assignmentId: string): Promise<void> {
    const { budget } = await configs.get(assignmentId);
    await waitWhile(async () => {
      if (!budget) return false;
      return checkBudget(deps, assignmentId, budget).then(() => false, () => true);
    }, 1_000);
  }

  return {
    infer,
    /**
     * A model call, then scoring and storing on the same worker, for scorers that need no service of their
     * own: one activity per sample instead of two. A database outage while storing is waited out here, so
     * the prediction is never paid for twice.
     */
    async inferAndScore(input: { sample: SampleWorkflowInput; waiters: SampleWaiter[] }): Promise<SampleOutcome> {
      const inferred = await infer({ sample: input.sample });
      try {
        return await untilStored(() => scoreAndStore({ sample: input.sample, inferred, waiters: input.waiters }));
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

/** The assignment's pause and cancel flags, and whether its budget is spent, as MongoDB holds them. */
export interface Hold {
  paused: boolean;
  cancelRequested: boolean;
  /** A worker found the budget spent: the assignment is stopping. */
  budgetStopped: boolean;
}

/** Whether no new model call may start: the assignment is paused, a cancel was requested, or its budget is spent. */
export function isHeld(hold: Hold): boolean {
  return hold.paused || hold.cancelRequested || hold.budgetStopped;
}

/** Reads the assignment's pause, cancel and budget flags. */
export async function holdOf(deps: ActivityDeps, assignmentId: string): Promise<Hold> {
  const doc = await deps.store.assignments.findOne({ _id: assignmentId }, { projection: { paused: 1, cancelRequested: 1, budgetStop: 1 } });
  return { paused: Boolean(doc?.paused), cancelRequested: Boolean(doc?.cancelRequested), budgetStopped: Boolean(doc?.budgetStop) };
}
