import type { AgentTaskConfig, ModelConfig } from '../src/config/schema';
import {
  EpisodeErrorTypes, ErrorTypes, type AgentReply, type EpisodeMessage, type EpisodeRecord, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput,
} from '../src/contracts';
import { environmentIndexOf, lastAgentMessage, scoreFromResult } from '../src/environments';
import { sampleFor } from '../src/plan/samples';
import { createProvider, renderPrompt, type Provider } from '../src/providers';
import { createScorer } from '../src/scorers';
import type { Sample } from '../src/datasets';
import type { ResultDoc } from '../src/store/documents';
import type { ActivityDeps, ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { waitWhile, withHeartbeat } from './heartbeat';
import { storeOutcome, storeSuccess } from './records';
import { costOf } from '../src/metrics';

/** Input of one model turn of an episode. */
export interface AgentTurnInput {
  sample: SampleWorkflowInput;
  /** The episode so far: the environment's messages as user, the model's as assistant. */
  history: EpisodeMessage[];
  turn: number;
  restarts: number;
  /** What the environment expects now, for the simulated provider. */
  expected?: string;
}

/** Input of storeEpisode. */
export interface StoreEpisodeInput {
  sample: SampleWorkflowInput;
  episode: EpisodeRecord;
  waiters: SampleWaiter[];
}

/** The agent task of a sample, or a permanent failure when the config says otherwise. */
export async function agentTaskOf(configs: ConfigCache, sample: Pick<SampleWorkflowInput, 'assignmentId' | 'taskId'>): Promise<AgentTaskConfig> {
  const task = await configs.task(sample.assignmentId, sample.taskId);
  if (task.kind !== 'agent') throw permanent(`task ${task.id} is not an agent task`, ErrorTypes.ConfigInvalid);
  return task;
}

/** Builds the activities of agent episodes that run on the usual queues: model turns and storing. */
export function agentActivities(deps: ActivityDeps, configs: ConfigCache) {
  const providers = new Map<string, Provider>();
  const providerFor = (assignmentId: string, model: ModelConfig): Provider => {
    const key = `${assignmentId}/${model.id}`;
    if (!providers.has(key)) {
      if (providers.size > 256) providers.clear();
      providers.set(key, createProvider(model));
    }
    return providers.get(key) as Provider;
  };

  return {
    /**
     * One model turn: the task's preamble (prompt, few-shot) plus the episode so far go to the provider.
     * Waits while the assignment is paused or cancelling, so a paused episode stops between turns.
     */
    async agentTurn(input: AgentTurnInput): Promise<AgentReply> {
      const { sample } = input;
      const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), agentTaskOf(configs, sample)]);
      await waitWhile(() => isHeld(deps, sample.assignmentId));
      const preamble = renderPrompt(task, { fields: {}, id: String(sample.index) }).messages;
      const messages = [...preamble, ...input.history];
      const lease = deps.leaseDevices ? await deps.leaseDevices(model) : undefined;
      try {
        const prediction = await withHeartbeat((signal) => providerFor(sample.assignmentId, model).infer(
          {
            // Each turn is its own request: the simulated provider draws its answer per turn.
            sampleKey: `${sample.sampleKey}/${input.restarts}/${input.turn}`, messages,
            prompt: messages.map((m) => m.content).join('\n\n'), params: model.params, target: input.expected,
          },
          { signal, env: deps.env, extraEnv: lease?.env },
        ));
        return { text: prediction.text, usage: prediction.usage, latencyMs: prediction.latencyMs, worker: deps.workerIdentity };
      } catch (err) {
        throw toFailure(err);
      } finally {
        lease?.release();
      }
    },

    /**
     * Scores a finished episode (its environment's result, or the task's scorer) and stores it with its
     * final transcript and the model's turns. A crashed task (`task error`) is stored as a failed sample
     * that keeps the task's output: its history as the transcript and its error as the result.
     */
    async storeEpisode(input: StoreEpisodeInput): Promise<SampleOutcome> {
      const { sample, episode } = input;
      const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), agentTaskOf(configs, sample)]);
      const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
      const agentFields = {
        transcript: episode.transcript, modelTurns: episode.modelTurns, restarts: episode.restarts, restartReasons: episode.restartReasons,
        episode: { status: episode.status, result: episode.result ?? null, turns: episode.turns, index: environmentIndexOf(keyed.sample) },
      };
      if (episode.status === TASK_ERROR) return storeTaskError(deps, input, agentFields);
      const score = await scoreEpisode(deps, task, episode, keyed.sample);
      const now = new Date();
      const cost = costOf(episode.usage, model.pricing);
      const firstUser = episode.transcript.find((m) => m.role === 'user')?.content ?? '';
      const doc: Omit<ResultDoc, '_id' | 'assignments'> = {
        inferenceKey: sample.inferenceKey, status: 'succeeded', modelId: sample.modelId, taskId: sample.taskId,
        sampleId: keyed.sample.id, sampleIndex: sample.index, input: firstUser, prediction: lastAgentMessage(episode.transcript),
        target: null, score, error: null, errorType: null, attempts: episode.restarts + 1, latencyMs: episode.latencyMs,
        usage: episode.usage, cost, worker: episode.worker, startedAt: new Date(episode.startedAt), finishedAt: now, updatedAt: now,
        ...agentFields,
      };
      return storeSuccess(deps, sample, input.waiters, doc, score);
    },
  };
}

/** AgentBench's status of a crashed task (its interact answered 501). */
const TASK_ERROR = 'task error';

/** A crashed task's episode: a failed sample whose result keeps the transcript and the task's error. */
async function storeTaskError(deps: ActivityDeps, input: StoreEpisodeInput, fields: Partial<ResultDoc>): Promise<SampleOutcome> {
  const { sample, episode } = input;
  const detail = typeof episode.result === 'string' ? episode.result.trim().split('\n').slice(-1)[0] : JSON.stringify(episode.result);
  const error = `the environment's task crashed (task error): ${detail}`.slice(0, 2000);
  const outcome = await storeOutcome(deps, sample, input.waiters, 'failed', error, {
    errorType: EpisodeErrorTypes.TaskError, attempts: episode.restarts + 1, sampleId: String(fields.episode?.index ?? sample.index), input: fields.transcript?.[0]?.content ?? '',
  });
  await deps.store.results.updateOne({ _id: sample.sampleKey, status: 'failed' }, { $set: fields });
  return outcome;
}

/** The environment's own verdict, or the task's scorer on the model's last message (target: the result's `target`). */
async function scoreEpisode(deps: ActivityDeps, task: AgentTaskConfig, episode: EpisodeRecord, sample: Sample): Promise<NonNullable<ResultDoc['score']>> {
  const scorer = task.scorer;
  if (!scorer) return scoreFromResult(episode.status, episode.result);
  const target = (episode.result as { target?: unknown } | null)?.target;
  try {
    return await withHeartbeat((signal) => createScorer(scorer).score({ prediction: lastAgentMessage(episode.transcript), target, sample }, { signal, env: deps.env }));
  } catch (err) {
    throw toFailure(err);
  }
}

/** Whether the assignment is paused or a cancel was requested: then no new model turn may start. */
async function isHeld(deps: ActivityDeps, assignmentId: string): Promise<boolean> {
  const doc = await deps.store.assignments.findOne({ _id: assignmentId }, { projection: { paused: 1, cancelRequested: 1 } });
  return Boolean(doc?.paused || doc?.cancelRequested);
}
