import { canonicalJson } from '../config/canonical';
import type { EnvironmentConfig } from '../config/schema';
import { agentBenchEnvironment } from './agentbench';
import { moduleEnvironment } from './module';
import type { Environment } from './types';


/** Environments of this process, one per config: a module keeps its sessions, a client its history offsets. */
const environments = new Map<string, Environment>();

/** The part of an environment config that decides what an episode is: part of every sample key. */
export function environmentIdentity(config: EnvironmentConfig): Record<string, unknown> {
  if (config.kind === 'module') return { kind: config.kind, module: config.module, options: config.options };
  return { kind: config.kind, url: config.url.replace(/\/+$/, ''), task: config.task };
}

/** The environment of a config, created once per process. */
export function environmentFor(config: EnvironmentConfig): Environment {
  const key = canonicalJson(environmentIdentity(config));
  let env = environments.get(key);
  if (!env) {
    env = config.kind === 'module' ? moduleEnvironment(config.module, config.options) : agentBenchEnvironment(config);
    environments.set(key, env);
  }
  return env;
}
