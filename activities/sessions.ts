import type { Environment, EpisodeOutput } from '../src/environments';
import { NoCapacityError, SessionLostError, environmentFor, environmentIndexOf, episodeOutput } from '../src/environments';
import type { EnvironmentTurn, SampleWorkflowInput, SessionStarted } from '../src/contracts';
import { sampleFor } from '../src/plan/samples';
import { agentTaskOf } from './agent';
import type { ActivityDeps, ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { withHeartbeat } from './heartbeat';

/** Who a task worker is: the environment it serves, its own queue and how many sessions it may hold. */
export interface TaskWorkerSettings {
  environment: string;
  /** This worker's own queue: every turn of the sessions it holds comes here. */
  queue: string;
  capacity: number;
}

interface HeldSession {
  env: Environment;
  sampleKey: string;
}

/**
 * Builds the activities of a task worker: start a session (shared queue of the environment), step and
 * cancel it (this worker's own queue), and the environment's overall metric of a finished job. Sessions
 * live in this process; `sessions` in MongoDB mirrors them for `evalctl sessions`.
 */
export function taskActivities(deps: ActivityDeps, configs: ConfigCache, settings: TaskWorkerSettings) {
  const held = new Map<string, HeldSession>();
  let starting = 0;

  async function startSession(input: { sample: SampleWorkflowInput }): Promise<SessionStarted> {
    const { sample } = input;
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), agentTaskOf(configs, sample)]);
    if (task.environment.name !== settings.environment) throw permanent(`task ${task.id} needs environment ${task.environment.name}, not ${settings.environment}`, 'EvalConfigInvalid');
    if (held.size + starting >= settings.capacity) throw toFailure(new NoCapacityError(`${deps.workerIdentity} holds ${held.size} sessions (capacity ${settings.capacity})`, 500));
    starting += 1;
    try {
      const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
      const env = environmentFor(task.environment);
      const started = await withHeartbeat((signal) => env.start(environmentIndexOf(keyed.sample), signal));
      const { session, ...turn } = started;
      if (turn.status === 'running') {
        held.set(session, { env, sampleKey: sample.sampleKey });
        await recordSession(deps, settings, sample, session);
      }
      return { ...turn, sessionId: session, queue: settings.queue, worker: deps.workerIdentity };
    } catch (err) {
      throw toFailure(err);
    } finally {
      starting -= 1;
    }
  }

  async function stepSession(input: { sample: SampleWorkflowInput; sessionId: string; content: string; turn: number }): Promise<EnvironmentTurn> {
    const entry = held.get(input.sessionId);
    if (!entry) throw toFailure(new SessionLostError(`session ${input.sessionId} is not held by ${deps.workerIdentity}`));
    try {
      const turn = await withHeartbeat((signal) => entry.env.step(input.sessionId, input.content, signal));
      if (turn.status === 'running') {
        await deps.store.sessions.updateOne({ _id: entry.sampleKey }, { $set: { turn: input.turn, updatedAt: new Date() } });
      } else {
        held.delete(input.sessionId);
        await deps.store.sessions.deleteOne({ _id: entry.sampleKey });
      }
      return turn;
    } catch (err) {
      throw toFailure(err);
    }
  }

  return {
    startSession,
    stepSession,
    /** Ends a session early (turn or time limit, cancel); a session this worker no longer holds is fine. */
    async cancelSession(input: { sessionId: string }): Promise<void> {
      const entry = held.get(input.sessionId);
      if (!entry) return;
      held.delete(input.sessionId);
      await entry.env.cancel(input.sessionId).catch(() => undefined);
      await deps.store.sessions.deleteOne({ _id: entry.sampleKey });
    },
    /** The environment's overall metric over a job's stored episodes, written to the job document. */
    async environmentOverall(input: { assignmentId: string; jobId: string; taskId: string; modelId: string }): Promise<unknown> {
      const task = await agentTaskOf(configs, input);
      const env = environmentFor(task.environment);
      if (!env.calculateOverall) return null;
      const samples = await deps.store.samples.find({ assignmentId: input.assignmentId, jobId: input.jobId }, { projection: { sampleKey: 1 } }).toArray();
      const results = await deps.store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
      const outputs: EpisodeOutput[] = [];
      for (const r of results.sort((a, b) => a.sampleIndex - b.sampleIndex)) {
        if (r.episode && r.transcript) outputs.push(episodeOutput(r.episode.index, r.episode.status, r.episode.result, r.transcript));
      }
      const overall = await env.calculateOverall(outputs);
      await deps.store.jobs.updateOne({ _id: `${input.assignmentId}/${input.jobId}` }, { $set: { overall, updatedAt: new Date() } });
      return overall;
    },
  };
}

/** The worker's entry in `sessions`, keyed by sample key so a restarted episode replaces its old one. */
async function recordSession(deps: ActivityDeps, settings: TaskWorkerSettings, sample: SampleWorkflowInput, sessionId: string): Promise<void> {
  const now = new Date();
  await deps.store.sessions.updateOne(
    { _id: sample.sampleKey },
    {
      $set: {
        assignmentId: sample.assignmentId, taskId: sample.taskId, modelId: sample.modelId, sampleIndex: sample.index,
        environment: settings.environment, sessionId, worker: deps.workerIdentity, queue: settings.queue, turn: 0, startedAt: now, updatedAt: now,
      },
    },
    { upsert: true },
  );
}

/** Activity type of a task worker, for workflows' proxies. */
export type TaskActivities = ReturnType<typeof taskActivities>;
