import type { EnvironmentTurn, EpisodeMessage } from '../contracts';
import { EpisodeErrorTypes } from '../contracts';

/** What environments are made of: the interface every kind implements, and their errors. */

/** A sample index of an environment: AgentBench uses numbers or strings. */
export type SampleIndex = string | number;

/** A started session: the environment's id for it, and its first turn. */
export interface StartedSession extends EnvironmentTurn {
  session: string;
}

/** One finished episode as AgentBench's calculate_overall takes it (a TaskOutput). */
export interface EpisodeOutput {
  index: SampleIndex;
  status: string;
  result: unknown;
  history: Array<{ role: 'user' | 'agent'; content: string }>;
}

/**
 * An environment as task workers drive it: the sample indices, then sessions started, stepped with the
 * model's message until they end, and cancelled; optionally an overall metric over finished episodes.
 */
export interface Environment {
  indices(): Promise<SampleIndex[]>;
  start(index: SampleIndex, signal: AbortSignal): Promise<StartedSession>;
  step(session: string, content: string, signal: AbortSignal): Promise<EnvironmentTurn>;
  cancel(session: string): Promise<void>;
  calculateOverall?(results: EpisodeOutput[]): Promise<unknown>;
}

/**
 * What a `module` environment exports. Functions get the task's `environment.options`; they may be
 * synchronous or return promises. The module keeps its sessions itself, named by the string start returns.
 */
export interface EnvironmentModule {
  indices(options: Record<string, unknown>): SampleIndex[] | Promise<SampleIndex[]>;
  start(index: SampleIndex, options: Record<string, unknown>): StartedSession | Promise<StartedSession>;
  step(session: string, content: string, options: Record<string, unknown>): EnvironmentTurn | Promise<EnvironmentTurn>;
  cancel(session: string, options: Record<string, unknown>): void | Promise<void>;
  calculateOverall?(results: EpisodeOutput[], options: Record<string, unknown>): unknown;
}

/** No session can start now (every slot taken; AgentBench's 406): try again later, it is not a failure. */
export class NoCapacityError extends Error {
  override name = 'NoCapacityError';
  readonly type = EpisodeErrorTypes.NoCapacity;
  readonly retryable = true;
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** The environment failed in a way a retry cannot fix (bad module, protocol error, unknown task). */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
  readonly type = 'EvalEnvironmentFailed';
  constructor(message: string, readonly retryable = false) {
    super(message);
  }
}

/** A session this worker does not hold (it restarted, or the environment forgot it): start over elsewhere. */
export class SessionLostError extends Error {
  override name = 'SessionLostError';
  readonly type = EpisodeErrorTypes.SessionLost;
  readonly retryable = false;
}

/** Maps an environment's history role to the model's chat role (AgentBench's `agent` is the assistant). */
export function chatRole(role: string): EpisodeMessage['role'] {
  if (role === 'agent' || role === 'assistant') return 'assistant';
  return role === 'system' ? 'system' : 'user';
}
