import { ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities, TaskActivities } from '../activities';
import {
  EpisodeErrorTypes, type AgentRunSettings, type EpisodeMessage, type EpisodeRecord, type SampleWorkflowInput, type SessionStarted,
} from '../src/contracts';
import { inferActivity, sessionStartActivity, sessionTurnActivity } from './presets';

/** The status an episode ends with when evalctl's own turn or time limit stops it. */
export const LIMIT_STATUS = 'task limit reached';

/** The task worker holding the session went away: the episode starts again from the beginning. */
class SessionLost extends Error {}

/**
 * Drives one episode: start a session on any task worker of the environment, then model turn and
 * environment turn (on that worker's own queue) until the environment ends it or a limit is hit. A lost
 * worker restarts the episode from the beginning, up to maxRestarts times, and the restart is counted.
 */
export class EpisodeRunner {
  private session: SessionStarted | undefined;
  private restarts = 0;
  private readonly model: ReturnType<typeof proxyActivities<Activities>>;
  private readonly starter: ReturnType<typeof proxyActivities<TaskActivities>>;

  constructor(private readonly input: SampleWorkflowInput, private readonly agent: AgentRunSettings) {
    this.model = proxyActivities<Activities>(inferActivity(input.inferenceQueue, input.inferTimeoutMs, input.retry));
    this.starter = proxyActivities<TaskActivities>(sessionStartActivity(agent.environment));
  }

  /** Runs the episode to its end, restarting it after lost workers. */
  async run(): Promise<EpisodeRecord> {
    const startedAt = new Date().toISOString();
    for (;;) {
      try {
        return await this.attempt(startedAt);
      } catch (err) {
        if (!(err instanceof SessionLost) || this.restarts >= this.agent.maxRestarts) throw err;
        this.restarts += 1;
        this.session = undefined;
      }
    }
  }

  /** Ends the live session early (a limit, a cancel); a worker that is gone already ended it. */
  async cancelSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    try {
      await proxyActivities<TaskActivities>(sessionTurnActivity(session.queue, 30_000)).cancelSession({ sessionId: session.sessionId });
    } catch {
      // The worker is gone, and the session with it.
    }
  }

  private async attempt(startedAt: string): Promise<EpisodeRecord> {
    const deadline = Date.now() + this.agent.timeLimitMs;
    const started = await this.starter.startSession({ sample: this.input });
    this.session = started.status === 'running' ? started : undefined;
    const transcript: EpisodeMessage[] = [...started.messages];
    const usage = { inputTokens: 0, outputTokens: 0 };
    let { status, result, expected } = started;
    let turns = 0;
    let latencyMs = 0;
    while (status === 'running') {
      if (turns >= this.agent.maxTurns || Date.now() >= deadline) {
        status = LIMIT_STATUS;
        await this.cancelSession();
        break;
      }
      const reply = await this.model.agentTurn({ sample: this.input, history: transcript, turn: turns, restarts: this.restarts, expected });
      transcript.push({ role: 'assistant', content: reply.text });
      turns += 1;
      usage.inputTokens += reply.usage.inputTokens;
      usage.outputTokens += reply.usage.outputTokens;
      latencyMs += reply.latencyMs;
      const turn = await this.step(started, reply.text, turns, deadline);
      transcript.push(...turn.messages);
      ({ status, result, expected } = turn);
    }
    if (status !== 'running') this.session = undefined;
    return { status, result, transcript, turns, restarts: this.restarts, usage, latencyMs, startedAt, worker: started.worker };
  }

  private async step(session: SessionStarted, content: string, turn: number, deadline: number): ReturnType<TaskActivities['stepSession']> {
    const acts = proxyActivities<TaskActivities>(sessionTurnActivity(session.queue, Math.max(1_000, deadline - Date.now()) + 30_000));
    try {
      return await acts.stepSession({ sample: this.input, sessionId: session.sessionId, content, turn });
    } catch (err) {
      if (isLost(err)) throw new SessionLost(`session ${session.sessionId} on ${session.worker} was lost`);
      throw err;
    }
  }
}

/** Whether a turn failed because its worker is gone (not picked up, stopped heartbeating) or forgot the session. */
function isLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) return cause.timeoutType === 'SCHEDULE_TO_START' || cause.timeoutType === 'HEARTBEAT';
  return cause instanceof ApplicationFailure && cause.type === EpisodeErrorTypes.SessionLost;
}
