import * as path from 'node:path';
import type { EnvironmentTurn, EpisodeMessage } from '../contracts';
import {
  EnvironmentError, SessionLostError, chatRole, type AgentReplyInput, type CancelOutcome, type Environment, type EnvironmentModule,
  type EpisodeOutput, type ModuleTurn, type SampleIndex, type StartedSession,
} from './types';

/** Prefix of the environments shipped with evalctl (src/environments/builtin/<name>). */
export const BUILTIN_PREFIX = 'builtin:';

/**
 * Loads a `module` environment: `builtin:<name>` or a JavaScript module path (a TypeScript environment is
 * compiled first; Node 20 does not load .ts). The module must export indices, start, step and cancel.
 */
export function loadEnvironmentModule(spec: string): EnvironmentModule {
  const file = spec.startsWith(BUILTIN_PREFIX) ? path.join(__dirname, 'builtin', spec.slice(BUILTIN_PREFIX.length)) : path.resolve(spec);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file);
  } catch (err) {
    throw new EnvironmentError(`cannot load environment module ${spec}: ${(err as Error).message}`);
  }
  const mod = loaded as Partial<EnvironmentModule>;
  for (const name of ['indices', 'start', 'step', 'cancel'] as const) {
    if (typeof mod[name] !== 'function') throw new EnvironmentError(`environment module ${spec} does not export a function ${name}`);
  }
  return mod as EnvironmentModule;
}

/**
 * An Environment over a module and the task's options. The adapter keeps each session's conversation: a
 * module's turn adds messages after the model's reply, or hands back the whole conversation anew.
 */
export function moduleEnvironment(spec: string, options: Record<string, unknown>): Environment {
  const mod = loadEnvironmentModule(spec);
  const histories = new Map<string, EpisodeMessage[]>();
  const turnOf = (session: string, turn: ModuleTurn, before: EpisodeMessage[]): EnvironmentTurn => {
    const history = turn.history ? turn.history.map(chatMessage) : [...before, ...(turn.messages ?? []).map(chatMessage)];
    if (turn.status === 'running') histories.set(session, history);
    else histories.delete(session);
    return { status: turn.status, history, result: turn.result, expected: turn.expected };
  };
  const env: Environment = {
    indices: async (): Promise<SampleIndex[]> => mod.indices(options),
    async start(index: SampleIndex): Promise<StartedSession> {
      const started = await mod.start(index, options);
      return { session: started.session, ...turnOf(started.session, started, []) };
    },
    async step(session: string, reply: AgentReplyInput): Promise<EnvironmentTurn> {
      const before = histories.get(session);
      if (!before) throw new SessionLostError(`environment ${spec} holds no session ${session} in this process`);
      const seen = [...before, { role: 'assistant' as const, content: reply.content }];
      if (reply.status && reply.status !== 'normal') {
        histories.delete(session);
        await mod.cancel(session, options);
        return { status: reply.status, history: seen };
      }
      return turnOf(session, await mod.step(session, reply.content, options), seen);
    },
    async cancel(session: string): Promise<CancelOutcome> {
      const known = histories.delete(session);
      await mod.cancel(session, options);
      return known ? 'cancelled' : 'gone';
    },
  };
  const overall = mod.calculateOverall;
  if (overall) env.calculateOverall = async (results: EpisodeOutput[]) => overall(results, options);
  return env;
}

function chatMessage(m: { role: string; content: string }): EpisodeMessage {
  return { role: chatRole(m.role), content: m.content };
}
