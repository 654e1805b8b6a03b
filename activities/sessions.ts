import { ApplicationFailure, Context, sleep } from '@temporalio/activity';
import type { AgentStatus, EnvironmentTurn, SampleWorkflowInput, SessionStarted } from '../src/contracts';
import type { CancelOutcome, Environment, EpisodeOutput } from '../src/environments';
import {
  ControllerRestartedError, EnvironmentBusyError, NoCapacityError, SessionLostError, countsForOverall, environmentFor, environmentIndexOf, episodeOutput,
} from '../src/environments';
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

/** How a cancel ended: confirmed, the session was already gone, or neither within the time given. */
export type CancelResult = CancelOutcome | 'unconfirmed';

/** Input of stepSession. */
export interface StepSessionInput {
  sample: SampleWorkflowInput;
  sessionId: string;
  content: string;
  /** Set when the model could not reply (agent context limit): the environment ends the episode. */
  status?: AgentStatus;
  turn: number;
}

/**
 * Builds the activities of a task worker: start a session (shared queue of the environment), step and
 * cancel it (this worker's own queue; a cancel also on the shared queue, for a session whose worker is
 * gone), and the environment's overall metric of a finished job. Sessions live in this process;
 * `sessions` in MongoDB mirrors them for `evalctl sessions`.
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
      // The workflow cancels what the worker still holds of a session the controller lost at once.
      if (err instanceof ControllerRestartedError && err.session) {
        throw ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: true, details: [{ session: err.session }] });
      }
      throw toFailure(err);
    } finally {
      starting -= 1;
    }
  }

  async function stepSession(input: StepSessionInput): Promise<EnvironmentTurn> {
    const entry = held.get(input.sessionId);
    if (!entry) throw toFailure(new SessionLostError(`session ${input.sessionId} is not held by ${deps.workerIdentity}`));
    try {
      const turn = await withHeartbeat((signal) => stepRetryingBusy(entry.env, input, signal));
      if (turn.status === 'running') {
        await deps.store.sessions.updateOne({ _id: sessionDocId(entry.sampleKey, input.sessionId) }, { $set: { turn: input.turn, updatedAt: new Date() } });
      } else {
        held.delete(input.sessionId);
        await deps.store.sessions.deleteOne({ _id: sessionDocId(entry.sampleKey, input.sessionId) });
      }
      return turn;
    } catch (err) {
      throw toFailure(err);
    }
  }

  /**
   * Cancels a session, retrying (a turn still running holds its lock; the controller or a worker is away)
   * until the environment confirms it or says it is gone, for up to `untilMs`. The session's entry in
   * `sessions` goes only then, so `evalctl sessions` lists what the environment still holds. With
   * `watchAdoptionMs` (the controller restarted), the worker's copy of the session that the controller
   * adopts later under the same id is cancelled too, unless a live episode of ours holds that session.
   */
  async function cancelSession(input: { sample: SampleWorkflowInput; sessionId: string; untilMs: number; watchAdoptionMs?: number }): Promise<CancelResult> {
    const entry = held.get(input.sessionId);
    const env = entry?.env ?? environmentFor((await agentTaskOf(configs, input.sample)).environment);
    const outcome = await withHeartbeat((signal) => cancelRetrying(env, input.sessionId, input.untilMs, signal));
    if (outcome === 'unconfirmed') return outcome;
    held.delete(input.sessionId);
    await deps.store.sessions.deleteOne({ _id: sessionDocId(input.sample.sampleKey, input.sessionId) });
    if (outcome === 'gone' && input.watchAdoptionMs && env.findAdopted) {
      const isLive = async (session: string) => (await deps.store.sessions.countDocuments({ environment: settings.environment, sessionId: session })) > 0;
      return withHeartbeat((signal) => cancelAdopted(env, input.sessionId, input.watchAdoptionMs ?? 0, isLive, signal));
    }
    return outcome;
  }

  return {
    startSession,
    stepSession,
    cancelSession,
    /** The environment's overall metric over a job's stored episodes that AgentBench would count, written to the job. */
    async environmentOverall(input: { assignmentId: string; jobId: string; taskId: string; modelId: string }): Promise<unknown> {
      const task = await agentTaskOf(configs, input);
      const env = environmentFor(task.environment);
      if (!env.calculateOverall) return null;
      const samples = await deps.store.samples.find({ assignmentId: input.assignmentId, jobId: input.jobId }, { projection: { sampleKey: 1 } }).toArray();
      const results = await deps.store.results.find({ _id: { $in: samples.map((s) => s.sampleKey) } }).toArray();
      const outputs: EpisodeOutput[] = [];
      for (const r of results.sort((a, b) => a.sampleIndex - b.sampleIndex)) {
        if (r.episode && r.transcript && countsForOverall(r.episode.status)) outputs.push(episodeOutput(r.episode.index, r.episode.status, r.episode.result, r.transcript));
      }
      const overall = await env.calculateOverall(outputs);
      await deps.store.jobs.updateOne({ _id: `${input.assignmentId}/${input.jobId}` }, { $set: { overall, updatedAt: new Date() } });
      return overall;
    },
  };
}

/** A step, asked again while the environment is busy with the session (never after it took the reply). */
async function stepRetryingBusy(env: Environment, input: StepSessionInput, signal: AbortSignal): Promise<EnvironmentTurn> {
  for (let tries = 0; ; tries++) {
    try {
      return await env.step(input.sessionId, { content: input.content, status: input.status }, signal);
    } catch (err) {
      if (!(err instanceof EnvironmentBusyError) || tries >= 20 || signal.aborted) throw err;
      await sleep(err.retryAfterMs);
    }
  }
}

/** Cancel attempts with growing pauses until confirmed or gone; a permanent refusal ends them too. */
async function cancelRetrying(env: Environment, sessionId: string, untilMs: number, signal: AbortSignal): Promise<CancelResult> {
  const until = Date.now() + untilMs;
  let pause = 250;
  for (;;) {
    try {
      return await env.cancel(sessionId, signal);
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable !== false;
      Context.current().log.warn('session cancel not confirmed yet', { sessionId, error: (err as Error).message, retryable });
      if (!retryable || signal.aborted || Date.now() + pause > until) return 'unconfirmed';
    }
    await sleep(pause);
    pause = Math.min(pause * 2, 5_000);
  }
}

/** Watches for the controller to adopt a lost session's copy (same id and sample, not ours) and cancels it. */
async function cancelAdopted(
  env: Environment, sessionId: string, watchMs: number, isLive: (session: string) => Promise<boolean>, signal: AbortSignal,
): Promise<CancelResult> {
  const until = Date.now() + watchMs;
  while (Date.now() < until && !signal.aborted) {
    const adopted = await env.findAdopted?.(sessionId, signal).catch(() => undefined);
    // A session of ours that just started may not be in `sessions` yet: it must be seen twice as not ours.
    if (adopted && !(await isLive(adopted))) {
      await sleep(1_000);
      if (!(await isLive(adopted))) return cancelRetrying(env, adopted, Math.max(1_000, until - Date.now()), signal);
    }
    await sleep(1_000);
  }
  return 'gone';
}

/** The `_id` of a session's entry: sample key and session, so an old session being cancelled keeps its own. */
export function sessionDocId(sampleKey: string, sessionId: string): string {
  return `${sampleKey}/${sessionId}`;
}

/** The worker's entry in `sessions`, written when a session starts. */
async function recordSession(deps: ActivityDeps, settings: TaskWorkerSettings, sample: SampleWorkflowInput, sessionId: string): Promise<void> {
  const now = new Date();
  await deps.store.sessions.updateOne(
    { _id: sessionDocId(sample.sampleKey, sessionId) },
    {
      $set: {
        sampleKey: sample.sampleKey, assignmentId: sample.assignmentId, taskId: sample.taskId, modelId: sample.modelId, sampleIndex: sample.index,
        environment: settings.environment, sessionId, worker: deps.workerIdentity, queue: settings.queue, turn: 0, startedAt: now, updatedAt: now,
      },
    },
    { upsert: true },
  );
}

/** Activity type of a task worker, for workflows' proxies. */
export type TaskActivities = ReturnType<typeof taskActivities>;
