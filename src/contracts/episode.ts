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
  /** Times an episode starts again from the beginning after its task worker was lost. */
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
  /** Messages the environment added since the last turn. */
  messages: EpisodeMessage[];
  /** The environment's own result, once the episode ended. */
  result?: unknown;
  /** The reply a perfect agent would give now: only the simulated provider looks at it. */
  expected?: string;
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
  transcript: EpisodeMessage[];
  turns: number;
  restarts: number;
  usage: { inputTokens: number; outputTokens: number };
  /** Milliseconds spent in model calls. */
  latencyMs: number;
  startedAt: string;
  /** Task worker that held the session that finished. */
  worker: string;
}

/** Error type names of agent episodes. */
export const EpisodeErrorTypes = {
  /** The task worker holding the session is gone or no longer knows it: start the episode again. */
  SessionLost: 'EvalSessionLost',
  /** No task worker has room for another session now (AgentBench's 406): retried later, not a failure. */
  NoCapacity: 'EvalNoCapacity',
} as const;

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
