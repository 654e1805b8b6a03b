import type { AgentStatus, EnvironmentTurn, EpisodeMessage } from '../contracts';
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

/** How a cancel ended: the environment confirmed it, or the session was not there (already over). */
export type CancelOutcome = 'cancelled' | 'gone';

/**
 * An environment as task workers drive it: the sample indices, then sessions started, stepped with the
 * model's message until they end, and cancelled; optionally an overall metric over finished episodes.
 * Every turn carries the whole conversation the model sees next (see EnvironmentTurn.history).
 */
export interface Environment {
  indices(): Promise<SampleIndex[]>;
  start(index: SampleIndex, signal: AbortSignal): Promise<StartedSession>;
  step(session: string, reply: AgentReplyInput, signal: AbortSignal): Promise<EnvironmentTurn>;
  /** Throws a retryable error (EnvironmentBusyError, a network error) when the cancel should be tried again. */
  cancel(session: string, signal?: AbortSignal): Promise<CancelOutcome>;
  /**
   * After a controller restart: the session the controller took back from its worker under the same id and
   * sample (a new start time), if any. AgentBench's workers keep their sessions over a controller restart
   * and the controller adopts them when it syncs the worker; they hold the worker's capacity until cancelled.
   */
  findAdopted?(session: string, signal?: AbortSignal): Promise<string | undefined>;
  calculateOverall?(results: EpisodeOutput[]): Promise<unknown>;
}

/** The model's side of a turn: its message, or a status instead (AgentBench's AgentOutput). */
export interface AgentReplyInput {
  content: string;
  status?: AgentStatus;
}

/** What a module's start or step returns: the messages it adds, or (`history`) the whole conversation anew. */
export interface ModuleTurn {
  status: string;
  /** Messages the environment adds after the model's reply. */
  messages?: EpisodeMessage[];
  /** The whole conversation from now on, replacing what came before (a task that truncates or rewrites it). */
  history?: EpisodeMessage[];
  result?: unknown;
  expected?: string;
}

/** A module's started session: its own name for it and its first turn. */
export interface ModuleSession extends ModuleTurn {
  session: string;
}

/**
 * What a `module` environment exports. Functions get the task's `environment.options`; they may be
 * synchronous or return promises. The module keeps its sessions itself, named by the string start returns.
 */
export interface EnvironmentModule {
  indices(options: Record<string, unknown>): SampleIndex[] | Promise<SampleIndex[]>;
  start(index: SampleIndex, options: Record<string, unknown>): ModuleSession | Promise<ModuleSession>;
  step(session: string, content: string, options: Record<string, unknown>): ModuleTurn | Promise<ModuleTurn>;
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

/**
 * The session cannot go on: its task worker or the controller lost it, a worker is dead, or a restarted
 * controller handed out an id that is taken. The episode starts again from the beginning.
 */
export class SessionLostError extends Error {
  override name = 'SessionLostError';
  readonly type: string = EpisodeErrorTypes.SessionLost;
  readonly retryable = false;
}

/** The controller no longer holds the session (it restarted, or dropped it): start the episode again, and watch for the worker's copy. */
export class ControllerRestartedError extends SessionLostError {
  override name = 'ControllerRestartedError';
  override readonly type: string = EpisodeErrorTypes.ControllerRestarted;
  /** The session started just before the controller lost it, when there is one: its worker still holds it. */
  constructor(message: string, readonly session?: string) {
    super(message);
  }
}

/** The environment has no such task: a config that can never work, found by validate, --dry-run and start. */
export class UnknownTaskError extends Error {
  override name = 'UnknownTaskError';
  readonly type = EpisodeErrorTypes.UnknownTask;
  readonly retryable = false;
}

/** The environment cannot take the call now (a running turn holds the session's lock): the same call again. */
export class EnvironmentBusyError extends Error {
  override name = 'EnvironmentBusyError';
  readonly type = EpisodeErrorTypes.Busy;
  readonly retryable = true;
  constructor(message: string, readonly retryAfterMs = 500) {
    super(message);
  }
}

/** Maps an environment's history role to the model's chat role (AgentBench's `agent` is the assistant). */
export function chatRole(role: string): EpisodeMessage['role'] {
  if (role === 'agent' || role === 'assistant') return 'assistant';
  return role === 'system' ? 'system' : 'user';
}
