import { ActivityFailure, ApplicationFailure, CancellationScope, TimeoutFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities, TaskActivities } from '../activities';
import {
  EpisodeErrorTypes, ErrorTypes, environmentQueue, modelTurnOf, type AgentReply, type AgentRunSettings, type AgentStatus, type EnvironmentTurn,
  type EpisodeMessage, type EpisodeRecord, type ModelTurn, type SampleWorkflowInput, type SessionStarted,
} from '../src/contracts';
import { inferActivity, sessionCancelActivity, sessionStartActivity, sessionTurnActivity } from './presets';

/** The status an episode ends with when evalctl's own turn or time limit stops it. */
export const LIMIT_STATUS = 'task limit reached';

/** How long a restart waits for the old session's cancel before it goes on (the cancel keeps trying after). */
const CANCEL_BEFORE_RESTART_MS = 5_000;
/** How long a cancel of a session evalctl stopped using keeps trying (AgentBench times its own calls out at 240 s). */
const CANCEL_LATER_MS = 300_000;

/** The session cannot go on (its worker or the controller lost it): the episode starts again from the beginning. */
class SessionLost extends Error {
  constructor(message: string, readonly controllerLost: boolean) {
    super(message);
  }
}

/** How long a cancel watches for a restarted controller to adopt the worker's copy of a lost session. */
const WATCH_ADOPTION_MS = 300_000;

/** The episode's time limit passed. */
class TimeLimit extends Error {}

/**
 * Drives one episode: start a session on any task worker of the environment, then model turn and
 * environment turn (on that worker's own queue) until the environment ends it or a limit is hit. The model
 * sees the whole history the environment returns, every turn. A lost session restarts the episode from
 * the beginning (up to maxRestarts, after cancelling the old one); `timeLimitMs` bounds the whole episode,
 * restarts and a turn that never returns included. Every session it stops using is cancelled.
 */
export class EpisodeRunner {
  private session: SessionStarted | undefined;
  private restarts = 0;
  private readonly reasons: string[] = [];
  private readonly cancels: Array<Promise<unknown>> = [];
  private readonly model: ReturnType<typeof proxyActivities<Activities>>;
  private readonly starter: ReturnType<typeof proxyActivities<TaskActivities>>;
  private deadline = 0;

  constructor(private readonly input: SampleWorkflowInput, private readonly agent: AgentRunSettings) {
    this.model = proxyActivities<Activities>(inferActivity(input.inferenceQueue, input.inferTimeoutMs, input.retry));
    this.starter = proxyActivities<TaskActivities>(sessionStartActivity(agent.environment));
  }

  /** Runs the episode to its end, restarting it after lost sessions; the time limit is never reset. */
  async run(): Promise<EpisodeRecord> {
    const startedAt = new Date().toISOString();
    this.deadline = Date.now() + this.agent.timeLimitMs;
    for (;;) {
      try {
        return await this.attempt(startedAt);
      } catch (err) {
        if (!(err instanceof SessionLost) || this.restarts >= this.agent.maxRestarts) throw err;
        this.restarts += 1;
        this.reasons.push(err.message);
        // A controller that lost the session cannot cancel it now: its worker's copy is watched for instead.
        if (err.controllerLost) await this.cancelSession(0, true);
        else await this.cancelSession(CANCEL_BEFORE_RESTART_MS);
      }
    }
  }

  /**
   * Cancels the live session, if any: waits up to `waitMs` for the environment to confirm, and leaves a
   * cancel that did not confirm trying in the background (see settle).
   */
  async cancelSession(waitMs = 0, watchAdoption = false): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    const first = this.cancelOn(session, waitMs > 0 ? waitMs : CANCEL_LATER_MS, watchAdoption);
    if (waitMs === 0) {
      this.cancels.push(first);
      return;
    }
    if ((await first) === 'unconfirmed') this.cancels.push(this.cancelOn(session, CANCEL_LATER_MS));
  }

  /** Sessions started so far: the episode's real number of attempts. */
  attempts(): number {
    return this.restarts + 1;
  }

  /** Waits for every cancel still trying, so the workflow ends only when its sessions are closed. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.cancels);
  }

  /**
   * A cancel on the holding worker, else (it is gone) on any task worker of the environment; a cancel of
   * the episode itself never interrupts it, since closing the session is what a cancel needs.
   */
  private cancelOn(session: SessionStarted, untilMs: number, watchAdoption = false): Promise<string> {
    return CancellationScope.nonCancellable(() => this.cancelVia(session, untilMs, watchAdoption));
  }

  private async cancelVia(session: SessionStarted, untilMs: number, watchAdoption: boolean): Promise<string> {
    const input = { sample: this.input, sessionId: session.sessionId, untilMs, watchAdoptionMs: watchAdoption ? WATCH_ADOPTION_MS : 0 };
    try {
      return await proxyActivities<TaskActivities>(sessionCancelActivity(session.queue, untilMs, false)).cancelSession(input);
    } catch {
      try {
        return await proxyActivities<TaskActivities>(sessionCancelActivity(environmentQueue(this.agent.environment), untilMs, true)).cancelSession(input);
      } catch {
        return 'unconfirmed';
      }
    }
  }

  private async attempt(startedAt: string): Promise<EpisodeRecord> {
    const usage = { inputTokens: 0, outputTokens: 0 };
    const modelTurns: ModelTurn[] = [];
    let view: EpisodeMessage[] = [];
    let seen: EpisodeMessage[] = [];
    let turns = 0;
    let latencyMs = 0;
    let worker = '';
    const end = (status: string, result: unknown, transcript: EpisodeMessage[]): EpisodeRecord => ({
      status, result, transcript, modelTurns, turns, restarts: this.restarts, restartReasons: [...this.reasons], usage, latencyMs, startedAt, worker,
    });
    try {
      const started = await this.start();
      this.session = started.status === 'running' ? started : undefined;
      worker = started.worker;
      let turn: EnvironmentTurn = started;
      while (turn.status === 'running') {
        view = turn.history;
        if (turns >= this.agent.maxTurns) return await this.limited(end(LIMIT_STATUS, null, view));
        const reply = await this.reply(view, turns, turn.expected);
        modelTurns.push({ ...modelTurnOf(seen, view, reply.text), ...(reply.status ? { status: reply.status } : {}) });
        seen = view;
        turns += 1;
        usage.inputTokens += reply.usage.inputTokens;
        usage.outputTokens += reply.usage.outputTokens;
        latencyMs += reply.latencyMs;
        view = [...view, { role: 'assistant', content: reply.text }];
        turn = await this.step(started, reply, turns);
      }
      this.session = undefined;
      return end(turn.status, turn.result, turn.history.length > 0 ? turn.history : view);
    } catch (err) {
      if (err instanceof TimeLimit) return this.limited(end(LIMIT_STATUS, null, view));
      throw err;
    }
  }

  /** Starts a session; an id collision or a dead worker at the start restarts the episode like a lost session. */
  private async start(): Promise<SessionStarted> {
    try {
      return await this.bounded(() => this.starter.startSession({ sample: this.input }));
    } catch (err) {
      const lost = lostReason(err);
      if (!lost) throw err;
      const started = startedSessionOf(err);
      // A session started as the controller restarted: its worker's copy is watched for and cancelled.
      if (started) this.cancels.push(this.cancelOn({ sessionId: started, queue: environmentQueue(this.agent.environment), worker: '', status: 'running', history: [] }, CANCEL_LATER_MS, true));
      throw new SessionLost(`start: ${lost.reason}`, lost.controllerLost);
    }
  }

  /** Ends the attempt by evalctl's own limit: the session is cancelled (confirmed before the workflow ends). */
  private async limited(record: EpisodeRecord): Promise<EpisodeRecord> {
    await this.cancelSession();
    return record;
  }

  /** The model's reply, or `agent context limit` when the conversation no longer fits the model. */
  private async reply(view: EpisodeMessage[], turn: number, expected?: string): Promise<AgentReply & { status?: AgentStatus }> {
    try {
      return await this.bounded(() => this.model.agentTurn({ sample: this.input, history: view, turn, restarts: this.restarts, expected }));
    } catch (err) {
      if (!isContextLimit(err)) throw err;
      return { text: '', status: 'agent context limit', usage: { inputTokens: 0, outputTokens: 0 }, latencyMs: 0, worker: '' };
    }
  }

  private async step(session: SessionStarted, reply: AgentReply & { status?: AgentStatus }, turn: number): Promise<EnvironmentTurn> {
    const acts = proxyActivities<TaskActivities>(sessionTurnActivity(session.queue, Math.max(1_000, this.deadline - Date.now()) + 30_000));
    try {
      return await this.bounded(() => acts.stepSession({ sample: this.input, sessionId: session.sessionId, content: reply.text, status: reply.status, turn }));
    } catch (err) {
      const lost = lostReason(err);
      if (lost) throw new SessionLost(`session ${session.sessionId} on ${session.worker}: ${lost.reason}`, lost.controllerLost);
      throw err;
    }
  }

  /** Runs an activity call within what is left of the time limit; past it, TimeLimit (the call is cancelled). */
  private async bounded<T>(call: () => Promise<T>): Promise<T> {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new TimeLimit();
    try {
      return await CancellationScope.withTimeout(left, call);
    } catch (err) {
      if (isCancellation(err) && !CancellationScope.current().consideredCancelled && Date.now() >= this.deadline) throw new TimeLimit();
      throw err;
    }
  }
}

/** Why a call failed because its session cannot go on (worker gone, session lost, controller restarted), or undefined. */
function lostReason(err: unknown): { reason: string; controllerLost: boolean } | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure && (cause.timeoutType === 'SCHEDULE_TO_START' || cause.timeoutType === 'HEARTBEAT')) {
    return { reason: `task worker lost (${cause.timeoutType})`, controllerLost: false };
  }
  if (!(cause instanceof ApplicationFailure)) return undefined;
  if (cause.type === EpisodeErrorTypes.SessionLost) return { reason: cause.message, controllerLost: false };
  if (cause.type === EpisodeErrorTypes.ControllerRestarted) return { reason: cause.message, controllerLost: true };
  return undefined;
}

/** The session a start failure names (started just as the controller lost it), if any. */
function startedSessionOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as { session?: unknown } | undefined) : undefined;
  return typeof detail?.session === 'string' ? detail.session : undefined;
}

/** Whether the model refused the turn because the conversation is longer than its context. */
function isContextLimit(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === ErrorTypes.ProviderPermanent && /context|too long|maximum.*tokens/i.test(cause.message);
}
