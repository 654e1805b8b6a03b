import * as path from 'node:path';
import type { EnvironmentTurn } from '../contracts';
import { EnvironmentError, type Environment, type EnvironmentModule, type EpisodeOutput, type SampleIndex, type StartedSession } from './types';

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

/** An Environment over a module and the task's options. */
export function moduleEnvironment(spec: string, options: Record<string, unknown>): Environment {
  const mod = loadEnvironmentModule(spec);
  const env: Environment = {
    indices: async (): Promise<SampleIndex[]> => mod.indices(options),
    start: async (index: SampleIndex): Promise<StartedSession> => mod.start(index, options),
    step: async (session: string, content: string): Promise<EnvironmentTurn> => mod.step(session, content, options),
    cancel: async (session: string): Promise<void> => void (await mod.cancel(session, options)),
  };
  const overall = mod.calculateOverall;
  if (overall) env.calculateOverall = async (results: EpisodeOutput[]) => overall(results, options);
  return env;
}
