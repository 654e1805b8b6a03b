import { Context } from '@temporalio/activity';
import { createProvider, renderPrompt, type Provider } from '../src/providers';
import type { ModelConfig } from '../src/config/schema';
import type { SampleOutcome, SampleWaiter, SampleWorkflowInput } from '../src/contracts';
import { untilStored } from './mongo-retry';
import type { ScoreInput } from './score';
import { BuiltCache, type ActivityDeps, type ConfigCache } from './deps';
import { toFailure } from './failures';
import { waitWhile, withHeartbeat } from './heartbeat';
import { sampleFor } from '../src/plan/samples';

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

/** Builds the activities of the inference queues: a model call, or a model call scored and stored in one step. */
export function inferActivities(deps: ActivityDeps, configs: ConfigCache, scoreAndStore: (input: ScoreInput) => Promise<SampleOutcome>) {
  const providers = new BuiltCache<Provider>();
  const providerFor = (assignmentId: string, model: ModelConfig): Provider => providers.get(`${assignmentId}/${model.id}`, () => createProvider(model));

  /**
   * One model call for one sample. Waits while the assignment is paused or being canceled, so no call
   * starts then; the call itself is aborted when the activity is cancelled.
   */
  async function infer(input: { sample: SampleWorkflowInput }): Promise<Inferred> {
    const { sample } = input;
    const ctx = Context.current();
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    await waitWhile(() => isHeld(deps, sample.assignmentId));
    const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
    const rendered = renderPrompt(task, keyed.sample);
    const lease = deps.leaseDevices ? await deps.leaseDevices(model) : undefined;
    const startedAt = new Date();
    try {
      const prediction = await withHeartbeat((signal) =>
        providerFor(sample.assignmentId, model).infer(
          { sampleKey: sample.sampleKey, messages: rendered.messages, prompt: rendered.prompt, params: model.params, target: keyed.sample.target },
          { signal, env: deps.env, extraEnv: lease?.env },
        ),
      );
      return {
        prediction: prediction.text, input: rendered.prompt, usage: prediction.usage, latencyMs: prediction.latencyMs,
        attempts: ctx.info.attempt, worker: deps.workerIdentity, startedAt: startedAt.toISOString(),
      };
    } catch (err) {
      throw toFailure(err);
    } finally {
      lease?.release();
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

/** Whether the assignment is paused or a cancel was requested: then no new model call may start. */
async function isHeld(deps: ActivityDeps, assignmentId: string): Promise<boolean> {
  const doc = await deps.store.assignments.findOne({ _id: assignmentId }, { projection: { paused: 1, cancelRequested: 1 } });
  return Boolean(doc?.paused || doc?.cancelRequested);
}
