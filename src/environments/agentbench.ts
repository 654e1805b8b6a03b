import type { EnvironmentTurn, EpisodeMessage } from '../contracts';
import { classifyAnswer, type AgentBenchCall } from './agentbench-protocol';
import {
  ControllerRestartedError, EnvironmentBusyError, EnvironmentError, NoCapacityError, SessionLostError, UnknownTaskError, chatRole,
  type AgentReplyInput, type CancelOutcome, type Environment, type EpisodeOutput, type SampleIndex, type StartedSession,
} from './types';

/**
 * A client of an AgentBench v0.2 task controller (get_indices, start_sample, interact, cancel,
 * list_sessions, calculate_overall). Every answer's history is the whole conversation the agent sees next,
 * handed on as it is, as AgentBench's own client does. Session ids start again at 0 when the controller
 * restarts, so a session is named `<id>@<start time>` and checked against list_sessions before each call
 * that could reach someone else's session.
 */

/**
 * How long a session check keeps asking a controller that refuses connections (it is restarting) before the
 * session counts as lost with it.
 */
const UNREACHABLE_MS = 10_000;

/** Settings of one controller and task. */
export interface AgentBenchSettings {
  url: string;
  task: string;
  retryAfterMs: number;
  requestTimeoutMs: number;
}

/** AgentBench's TaskOutput. */
interface TaskOutput {
  index?: SampleIndex;
  status?: string;
  result?: unknown;
  history?: Array<{ role: string; content: string }> | null;
}

/** One entry of list_sessions. */
interface ListedSession {
  name: string;
  index: SampleIndex;
  start: number;
}

/**
 * A session name as evalctl keeps it: `<id>@<start>/<index>`, the controller's id and start time of the
 * session (from list_sessions) and the sample index, so a session is told apart from a later one that a
 * restarted controller gave the same id.
 */
export function sessionHandle(id: number, start: number | undefined, index: SampleIndex): string {
  return `${id}@${start ?? ''}/${index}`;
}

/** The parts of a session name. */
export function parseHandle(handle: string): { id: number; start?: number; index: string } {
  const slash = handle.indexOf('/');
  const [id, start] = (slash < 0 ? handle : handle.slice(0, slash)).split('@');
  return { id: Number(id), start: start ? Number(start) : undefined, index: slash < 0 ? '' : handle.slice(slash + 1) };
}

/** An Environment over an AgentBench controller. */
export function agentBenchEnvironment(settings: AgentBenchSettings): Environment {
  const base = settings.url.replace(/\/+$/, '');
  const where = `AgentBench controller ${base} task ${JSON.stringify(settings.task)}`;
  /** One request; a network failure (the controller is down or restarting) names the route and its cause. */
  const call = async (method: 'GET' | 'POST', route: string, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    const timeout = AbortSignal.timeout(settings.requestTimeoutMs);
    try {
      return await fetch(`${base}${route}`, {
        method, headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new EnvironmentError(`${where}: ${method} ${route.split('?')[0]} failed: ${networkCause(err)}`, true);
    }
  };
  /** Throws the error a failed answer means; returns the 501's task output for the caller to keep. */
  const failure = async (what: AgentBenchCall, res: Response): Promise<TaskOutput> => {
    const answer = classifyAnswer(what, res.status, await res.text().catch(() => ''));
    const words = `${what} answered ${res.status} ${JSON.stringify(answer.detail)}`;
    switch (answer.fault) {
      case 'unknown-task': throw new UnknownTaskError(`${where}: no such task on the controller (${words})`);
      case 'no-capacity': throw new NoCapacityError(`${where}: no worker has capacity (${words})`, settings.retryAfterMs);
      case 'restart': throw new SessionLostError(`${where}: ${words}`);
      case 'controller-lost': throw new ControllerRestartedError(`${where}: ${words}`);
      case 'busy': throw new EnvironmentBusyError(`${where}: ${words}`);
      case 'task-error': return (answer.output ?? {}) as TaskOutput;
      default: throw new EnvironmentError(`${where}: ${words}`);
    }
  };
  /** list_sessions, asked again for a while when the controller refuses connections (a restart takes a moment). */
  const listed = async (signal?: AbortSignal): Promise<Record<string, ListedSession>> => {
    const until = Date.now() + UNREACHABLE_MS;
    for (let pause = 250; ; pause = Math.min(pause * 2, 2_000)) {
      try {
        const res = await call('GET', '/list_sessions', undefined, signal);
        if (!res.ok) await failure('list_sessions', res);
        return (await res.json()) as Record<string, ListedSession>;
      } catch (err) {
        if (!(err instanceof EnvironmentError) || !err.retryable || Date.now() + pause > until) throw err;
        await pauseFor(pause, signal);
      }
    }
  };
  /**
   * Whether the controller still holds this very session: same id, task and start time. Ids start again at
   * 0 when the controller restarts, so a session whose start time is not known is never taken for the one
   * under its id now: that may be another episode's (its worker's copy is found by findAdopted instead).
   */
  const holds = async (handle: string, signal?: AbortSignal): Promise<boolean> => {
    const { id, start } = parseHandle(handle);
    if (start === undefined) return false;
    const entry = (await listed(signal))[String(id)];
    return entry !== undefined && entry.name === settings.task && entry.start === start;
  };
  /** holds(), where a controller that stays unreachable means the session is lost with it. */
  const stillHeld = async (handle: string, signal: AbortSignal): Promise<boolean> => {
    try {
      return await holds(handle, signal);
    } catch (err) {
      if (err instanceof EnvironmentError && err.retryable && !signal.aborted) throw restarted(handle, `cannot be checked: ${err.message}`);
      throw err;
    }
  };
  const restarted = (handle: string, what: string) =>
    new ControllerRestartedError(`${where}: session ${handle} ${what} (the controller restarted or dropped it)`);
  return {
    async indices() {
      const res = await call('GET', `/get_indices?name=${encodeURIComponent(settings.task)}`);
      if (!res.ok) await failure('get_indices', res);
      return (await res.json()) as SampleIndex[];
    },
    async start(index, signal): Promise<StartedSession> {
      const res = await call('POST', '/start_sample', { name: settings.task, index }, signal);
      if (!res.ok) await failure('start_sample', res);
      const body = (await res.json()) as { session_id: number; output: TaskOutput };
      const output = body.output;
      if (output.status !== 'running') return { session: sessionHandle(body.session_id, undefined, index), ...turnOf(output) };
      let entry: ListedSession | undefined;
      try {
        entry = (await listed(signal))[String(body.session_id)];
      } catch (err) {
        if (signal.aborted) throw err;
        entry = undefined;
      }
      const session = sessionHandle(body.session_id, entry?.start, index);
      // Gone before it was listed: the controller restarted in between, and its worker keeps the session.
      if (!entry || String(entry.index) !== String(index)) throw new ControllerRestartedError(`${where}: session ${session} was started but is not listed`, session);
      return { session, ...turnOf(output) };
    },
    async step(handle, reply: AgentReplyInput, signal): Promise<EnvironmentTurn> {
      if (!(await stillHeld(handle, signal))) throw restarted(handle, 'is no longer on the controller');
      const agentResponse = reply.status && reply.status !== 'normal' ? { status: reply.status } : { status: 'normal', content: reply.content };
      let res: Response;
      try {
        res = await call('POST', '/interact', { session_id: parseHandle(handle).id, agent_response: agentResponse }, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw restarted(handle, `lost its interact: ${(err as Error).message}`);
      }
      if (res.ok) return turnOf(((await res.json()) as { output: TaskOutput }).output);
      const crashed = await failure('interact', res);
      return { ...turnOf(crashed), status: 'task error' };
    },
    async cancel(handle, signal): Promise<CancelOutcome> {
      if (!(await holds(handle, signal))) return 'gone';
      const res = await call('POST', '/cancel', { session_id: parseHandle(handle).id }, signal);
      if (res.ok) {
        await res.body?.cancel();
        return 'cancelled';
      }
      const answer = classifyAnswer('cancel', res.status, await res.text().catch(() => ''));
      if (answer.fault === 'gone') return 'gone';
      const words = `cancel of session ${handle} answered ${res.status} ${JSON.stringify(answer.detail)}`;
      if (answer.fault === 'busy') throw new EnvironmentBusyError(`${where}: ${words}`);
      throw new EnvironmentError(`${where}: ${words}`);
    },
    async findAdopted(handle, signal): Promise<string | undefined> {
      const { id, start, index } = parseHandle(handle);
      const entry = (await listed(signal))[String(id)];
      if (!entry || entry.name !== settings.task || String(entry.index) !== index || entry.start === start) return undefined;
      return sessionHandle(id, entry.start, entry.index);
    },
    async calculateOverall(results: EpisodeOutput[]) {
      const res = await call('POST', '/calculate_overall', { name: settings.task, results });
      if (!res.ok) await failure('calculate_overall', res);
      return (await res.json()) as unknown;
    },
  };
}

/** What a failed fetch says about the network: its cause's code and message when it has one. */
function networkCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  const message = err instanceof Error ? err.message : String(err);
  return cause?.code ? `${message} (${cause.code}${cause.message ? `: ${cause.message}` : ''})` : message;
}

/** Waits `ms`, or less when the signal aborts. */
function pauseFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A TaskOutput as a turn: its history whole, AgentBench's `agent` role as the assistant. */
function turnOf(output: TaskOutput): EnvironmentTurn {
  const history: EpisodeMessage[] = (output.history ?? []).map((m) => ({ role: chatRole(m.role), content: m.content }));
  return { status: output.status ?? 'unknown', history, result: output.result ?? null };
}
