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

/** One model call for one keyed sample, by the process's cached provider of that model. */
export type ModelCall = (assignmentId: string, model: ModelConfig, task: TaskConfig, keyed: KeyedSample, signal: AbortSignal, attempt: number) => Promise<Inferred>;

/**
 * The model call shared by the per-sample activities and the shard runner: renders the prompt, holds the
 * model's devices for the call, and calls the provider built once per (assignment, model) in this process.
 */
export function modelCaller(deps: ActivityDeps): ModelCall {
  const providers = new BuiltCache<Provider>();
  return async (assignmentId, model, task, keyed, signal, attempt) => {
    const rendered = renderPrompt(task, keyed.sample);
    const lease = deps.leaseDevices ? await deps.leaseDevices(model) : undefined;
    const startedAt = new Date();
    try {
      const prediction = await providers.get(`${assignmentId}/${model.id}`, () => createProvider(model)).infer(
        { sampleKey: keyed.sampleKey, messages: rendered.messages, prompt: rendered.prompt, params: model.params, target: keyed.sample.target },
        { signal, env: deps.env, extraEnv: lease?.env },
      );
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
export function inferActivities(deps: ActivityDeps, configs: ConfigCache, callModel: ModelCall, scoreAndStore: (input: ScoreInput) => Promise<SampleOutcome>) {
  const slots = processSlots(deps);
  /**
   * One model call for one sample. Waits while the assignment is paused or being canceled, so no call
   * starts then; the call itself is aborted when the activity is cancelled.
   */
  async function infer(input: { sample: SampleWorkflowInput }): Promise<Inferred> {
    const { sample } = input;
    const ctx = Context.current();
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    await waitWhile(async () => isHeld(await holdOf(deps, sample.assignmentId)));
    const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
    try {
      return await withHeartbeat(async (signal) => {
        const release = await slots?.take(signal);
        try {
          return await callModel(sample.assignmentId, model, task, keyed, signal, ctx.info.attempt);
        } finally {
          release?.();
        }
      });
    } catch (err) {
      throw toFailure(err);
    }
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

/** The assignment's pause and cancel flags, as MongoDB holds them. */
export interface Hold {
  paused: boolean;
  cancelRequested: boolean;
}

/** Whether no new model call may start: the assignment is paused or a cancel was requested. */
export function isHeld(hold: Hold): boolean {
  return hold.paused || hold.cancelRequested;
}

/** Reads the assignment's pause and cancel flags. */
export async function holdOf(deps: ActivityDeps, assignmentId: string): Promise<Hold> {
  const doc = await deps.store.assignments.findOne({ _id: assignmentId }, { projection: { paused: 1, cancelRequested: 1 } });
  return { paused: Boolean(doc?.paused), cancelRequested: Boolean(doc?.cancelRequested) };
}
