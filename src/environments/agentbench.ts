import type { EnvironmentTurn } from '../contracts';
import { EnvironmentError, NoCapacityError, SessionLostError, chatRole, type Environment, type EpisodeOutput, type SampleIndex } from './types';

/**
 * A client of an AgentBench task controller in its v0.2 HTTP protocol: get_indices, start_sample,
 * interact, cancel and calculate_overall. The controller answers with the whole history every time; the
 * client hands on only what is new since the last turn, with AgentBench's `agent` role as the assistant.
 */

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
  history?: Array<{ role: string; content: string }>;
}

/** An Environment over an AgentBench controller. */
export function agentBenchEnvironment(settings: AgentBenchSettings): Environment {
  const base = settings.url.replace(/\/+$/, '');
  /** History entries already handed on, per session. */
  const seen = new Map<string, number>();
  const call = async (method: 'GET' | 'POST', route: string, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    const timeout = AbortSignal.timeout(settings.requestTimeoutMs);
    const res = await fetch(`${base}${route}`, {
      method, headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body), signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    return res;
  };
  const json = async <T>(res: Response, what: string): Promise<T> => {
    if (!res.ok) throw new EnvironmentError(`${what}: HTTP ${res.status} ${await res.text().catch(() => '')}`.trim(), res.status >= 500);
    return (await res.json()) as T;
  };
  const turn = (session: string, output: TaskOutput, skip: number): EnvironmentTurn => {
    const history = output.history ?? [];
    const fresh = history.slice(Math.min(history.length, (seen.get(session) ?? 0) + skip));
    seen.set(session, history.length);
    if (output.status !== 'running') seen.delete(session);
    return { status: output.status ?? 'unknown', messages: fresh.map((m) => ({ role: chatRole(m.role), content: m.content })), result: output.result };
  };
  return {
    async indices() {
      return json<SampleIndex[]>(await call('GET', `/get_indices?name=${encodeURIComponent(settings.task)}`), 'get_indices');
    },
    async start(index, signal) {
      const res = await call('POST', '/start_sample', { name: settings.task, index }, signal);
      if (res.status === 406) throw new NoCapacityError(`AgentBench ${settings.task}: no worker has capacity (406)`, settings.retryAfterMs);
      const body = await json<{ session_id: number | string; output: TaskOutput }>(res, 'start_sample');
      const session = String(body.session_id);
      return { session, ...turn(session, body.output, 0) };
    },
    async step(session, content, signal) {
      const res = await call('POST', '/interact', { session_id: Number.isNaN(Number(session)) ? session : Number(session), agent_response: { status: 'normal', content } }, signal);
      if (res.status === 404) throw new SessionLostError(`AgentBench session ${session} is gone`);
      // The controller appends the agent's message to the history it returns: skip it, the transcript has it.
      return turn(session, (await json<{ output: TaskOutput }>(res, 'interact')).output, 1);
    },
    async cancel(session) {
      seen.delete(session);
      const res = await call('POST', '/cancel', { session_id: Number.isNaN(Number(session)) ? session : Number(session) });
      await res.body?.cancel();
    },
    async calculateOverall(results: EpisodeOutput[]) {
      return json<unknown>(await call('POST', '/calculate_overall', { name: settings.task, results }), 'calculate_overall');
    },
  };
}
