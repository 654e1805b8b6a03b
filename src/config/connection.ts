import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../cli/errors';

/** Where evalctl finds its servers; every command that talks to Temporal or MongoDB gets it from here. */
export interface ConnectionConfig {
  /** Temporal frontend, host:port. */
  temporalAddress: string;
  temporalNamespace: string;
  /** MongoDB URL including the database name. */
  mongoUrl: string;
}

/** Defaults match `evalctl dev up` with its default ports, so a local stack needs no flags at all. */
export const CONNECTION_DEFAULTS: Readonly<ConnectionConfig> = {
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  mongoUrl: 'mongodb://127.0.0.1:27017/evalctl',
};

/** The environment variables behind each setting, named once so help texts and docs agree. */
export const CONNECTION_ENV = {
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  mongoUrl: 'EVALCTL_MONGO_URL',
} as const;

/** Parsed commander options as they arrive from `cmd.optsWithGlobals()`. */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  mongoUrl?: string;
}

/**
 * Adds `--address`, `--namespace` and `--mongo-url` to a command; on the root program they are global
 * and every subcommand reads them with `optsWithGlobals()`. Defaults are applied by the resolver, not
 * commander, so that a flag beats its env variable, which beats the default.
 */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--address <host:port>', `Temporal frontend address (env ${CONNECTION_ENV.temporalAddress}, default ${CONNECTION_DEFAULTS.temporalAddress})`))
    .addOption(new Option('--namespace <name>', `Temporal namespace (env ${CONNECTION_ENV.temporalNamespace}, default ${CONNECTION_DEFAULTS.temporalNamespace})`))
    .addOption(new Option('--mongo-url <url>', `MongoDB URL with database name (env ${CONNECTION_ENV.mongoUrl}, default ${CONNECTION_DEFAULTS.mongoUrl})`));
}

function pick(flag: string | undefined, envValue: string | undefined, fallback: string): string {
  if (flag !== undefined && flag.trim() !== '') return flag.trim();
  if (envValue !== undefined && envValue.trim() !== '') return envValue.trim();
  return fallback;
}

/**
 * Resolves the connection settings: flag, then environment, then default. Malformed values are usage
 * errors (exit 2) naming the flag and variable, so a typo never turns into a hang on a wrong host.
 */
export function resolveConnection(flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = process.env): ConnectionConfig {
  const config: ConnectionConfig = {
    temporalAddress: pick(flags.address, env[CONNECTION_ENV.temporalAddress], CONNECTION_DEFAULTS.temporalAddress),
    temporalNamespace: pick(flags.namespace, env[CONNECTION_ENV.temporalNamespace], CONNECTION_DEFAULTS.temporalNamespace),
    mongoUrl: pick(flags.mongoUrl, env[CONNECTION_ENV.mongoUrl], CONNECTION_DEFAULTS.mongoUrl),
  };
  if (!/^[^\s:/]+:\d{1,5}$/.test(config.temporalAddress) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(config.temporalAddress)) {
    throw new UsageError(`--address / ${CONNECTION_ENV.temporalAddress} must be host:port, got "${config.temporalAddress}"`);
  }
  if (!/^mongodb(\+srv)?:\/\/\S+$/.test(config.mongoUrl)) {
    throw new UsageError(`--mongo-url / ${CONNECTION_ENV.mongoUrl} must start with mongodb:// or mongodb+srv://, got "${redactUrl(config.mongoUrl)}"`);
  }
  return config;
}

/** Resolves the settings for a running command, including options declared on its parents. */
export function connectionFromCommand(cmd: Command, env: NodeJS.ProcessEnv = process.env): ConnectionConfig {
  return resolveConnection(cmd.optsWithGlobals<ConnectionFlags>(), env);
}

/** Hides a password in a URL before it is printed: MongoDB credentials travel inside the URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}
