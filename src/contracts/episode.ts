import { QUEUE_PREFIX } from './queues';

/**
 * What the episode workflow, the agent activities and the task workers share about agent episodes:
 * settings carried in workflow inputs, the messages of a transcript, and the task queues of environments.
 */

/** How a job runs the episodes of an agent task; carried by JobPlan and SampleWorkflowInput. */
export interface AgentRunSettings {
  /** Environment name: sessions start on evalctl-task.<environment>. */
  environment: string;
  maxTurns: number;
  timeLimitMs: number;
  /** Times an episode starts again from the beginning after its session was lost (worker, controller). */
  maxRestarts: number;
}

/** One message of an episode, as sent to the model and stored with the result. */
export interface EpisodeMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What an environment answered to a start or a step. */
export interface EnvironmentTurn {
  /** running, completed, task limit reached, ... (AgentBench's statuses). */
  status: string;
  /**
   * The whole conversation the model sees next, as the environment holds it (AgentBench's history, which a
   * task may truncate or rewrite between turns); the model's own earlier replies are in it as assistant.
   */
  history: EpisodeMessage[];
  /** The environment's own result, once the episode ended. */
  result?: unknown;
  /** The reply a perfect agent would give now: only the simulated provider looks at it. */
  expected?: string;
}

/**
 * What the model said in one turn instead of a reply (AgentBench's AgentOutputStatus): `agent context
 * limit` when the conversation no longer fits the model, so the environment ends the episode cleanly.
 */
export type AgentStatus = 'normal' | 'agent context limit';

/** One model turn of an episode: what the model saw (as a change of the previous turn's view) and said. */
export interface ModelTurn {
  /** The view is the previous turn's first `keep` messages followed by `add` (the first turn: keep 0). */
  keep: number;
  add: EpisodeMessage[];
  reply: string;
  status?: AgentStatus;
}

/** A session started on one task worker: every later turn goes to `queue`, that worker's own. */
export interface SessionStarted extends EnvironmentTurn {
  sessionId: string;
  queue: string;
  worker: string;
}

/** What one model turn of an episode answered. */
export interface AgentReply {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
  latencyMs: number;
  worker: string;
}

/** A finished episode, handed to storeEpisode. */
export interface EpisodeRecord {
  status: string;
  result: unknown;
  /** The final conversation as the environment holds it (its last history). */
  transcript: EpisodeMessage[];
  /** Every model turn of the attempt that finished: what the model saw and what it replied. */
  modelTurns: ModelTurn[];
  turns: number;
  restarts: number;
  /** Why each restart happened (lost session, dead worker, controller restarted, ...). */
  restartReasons: string[];
  usage: { inputTokens: number; outputTokens: number };
  /** Milliseconds spent in model calls. */
  latencyMs: number;
  startedAt: string;
  /** Task worker that held the session that finished. */
  worker: string;
}

/** Error type names of agent episodes. */
export const EpisodeErrorTypes = {
  /** The session is gone or cannot go on (task worker or controller lost it, id collision): start the episode again. */
  SessionLost: 'EvalSessionLost',
  /** The controller no longer holds the session (it restarted): start again, and cancel its adopted copy later. */
  ControllerRestarted: 'EvalControllerRestarted',
  /** The environment has no such task (AgentBench's "Task does not exist"): the config must change. */
  UnknownTask: 'EvalEnvironmentUnknownTask',
  /** The environment's task crashed during the episode (AgentBench's 501, status `task error`). */
  TaskError: 'EvalEnvironmentTaskError',
  /** The environment cannot take this call now (a session lock held by a running turn): the same call again. */
  Busy: 'EvalEnvironmentBusy',
  /** No task worker has room for another session now (AgentBench's 406): retried later, not a failure. */
  NoCapacity: 'EvalNoCapacity',
} as const;

/**
 * Error types of a failed sample that fail its whole job at once: every other sample of the job would
 * fail the same way (the environment dropped the task after planning), so the job cancels what runs,
 * starts nothing more, and the assignment ends failed with the reason.
 */
export const JOB_FATAL_ERROR_TYPES: readonly string[] = [EpisodeErrorTypes.UnknownTask];

/** The shared queue of an environment, where sessions start (any task worker of that environment). */
export function environmentQueue(environment: string): string {
  return `${QUEUE_PREFIX}task.${environment}`;
}

/** The queue of one task worker of an environment: the turns of the sessions it holds. */
export function sessionQueue(environment: string, workerIdentity: string): string {
  return `${environmentQueue(environment)}.${fnv1a(workerIdentity)}`;
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable name part (no Node built-ins in contracts). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** One model turn's view as a change of the previous view: the common prefix kept, the rest added. */
export function modelTurnOf(previous: EpisodeMessage[], view: EpisodeMessage[], reply: string): ModelTurn {
  let keep = 0;
  while (keep < previous.length && keep < view.length && previous[keep].role === view[keep].role && previous[keep].content === view[keep].content) keep++;
  return { keep, add: view.slice(keep), reply };
}

/** What the model saw and said at every turn, rebuilt from the stored changes (replaying a transcript). */
export function replayModelTurns(turns: ModelTurn[]): Array<{ view: EpisodeMessage[]; reply: string }> {
  let view: EpisodeMessage[] = [];
  return turns.map((t) => {
    view = [...view.slice(0, t.keep), ...t.add];
    return { view, reply: t.reply };
  });
}

/** What the model saw at the last of these turns (nothing before the first). */
export function lastView(turns: ModelTurn[]): EpisodeMessage[] {
  const replayed = replayModelTurns(turns);
  return replayed.length === 0 ? [] : replayed[replayed.length - 1].view;
}
