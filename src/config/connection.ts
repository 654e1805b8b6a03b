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
  /** TLS (and mTLS with a client certificate) to Temporal; plain TCP when absent. */
  tls?: TemporalTlsFiles;
}

/** TLS settings of the Temporal connection, as file paths (read when connecting). */
export interface TemporalTlsFiles {
  /** Client certificate (PEM) for mTLS; goes with `key`. */
  cert?: string;
  /** Client private key (PEM) for mTLS; goes with `cert`. */
  key?: string;
  /** CA certificate (PEM) the server's certificate is checked against; the system's CAs when absent. */
  ca?: string;
  /** Name the server certificate must carry, when it differs from the address's host. */
  serverName?: string;
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

/** The environment variables of the Temporal connection's TLS settings (none has a default). */
export const TLS_ENV = {
  tls: 'EVALCTL_TEMPORAL_TLS',
  tlsCert: 'EVALCTL_TEMPORAL_TLS_CERT',
  tlsKey: 'EVALCTL_TEMPORAL_TLS_KEY',
  tlsCa: 'EVALCTL_TEMPORAL_TLS_CA',
  tlsServerName: 'EVALCTL_TEMPORAL_TLS_SERVER_NAME',
} as const;

/** Parsed commander options as they arrive from `cmd.optsWithGlobals()`. */
export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  mongoUrl?: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
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
    .addOption(new Option('--mongo-url <url>', `MongoDB URL with database name (env ${CONNECTION_ENV.mongoUrl}, default ${CONNECTION_DEFAULTS.mongoUrl})`))
    .addOption(new Option('--tls', `connect to Temporal over TLS, checked against the system's CAs (env ${TLS_ENV.tls}=1); implied by the other --tls-* flags`))
    .addOption(new Option('--tls-cert <file>', `client certificate (PEM) for mTLS to Temporal (env ${TLS_ENV.tlsCert})`))
    .addOption(new Option('--tls-key <file>', `client private key (PEM) for mTLS to Temporal (env ${TLS_ENV.tlsKey})`))
    .addOption(new Option('--tls-ca <file>', `CA certificate (PEM) the Temporal server is checked against (env ${TLS_ENV.tlsCa})`))
    .addOption(new Option('--tls-server-name <name>', `server name expected in Temporal's certificate (env ${TLS_ENV.tlsServerName})`));
}

function optional(flag: string | undefined, envValue: string | undefined): string | undefined {
  if (flag !== undefined && flag.trim() !== '') return flag.trim();
  if (envValue !== undefined && envValue.trim() !== '') return envValue.trim();
  return undefined;
}

/**
 * The TLS settings of the Temporal connection: flags, then environment. Undefined means plain TCP. A
 * certificate without its key (or the reverse) is a usage error: mTLS needs both.
 */
export function resolveTls(flags: ConnectionFlags = {}, env: NodeJS.ProcessEnv = process.env): TemporalTlsFiles | undefined {
  const files: TemporalTlsFiles = {
    cert: optional(flags.tlsCert, env[TLS_ENV.tlsCert]),
    key: optional(flags.tlsKey, env[TLS_ENV.tlsKey]),
    ca: optional(flags.tlsCa, env[TLS_ENV.tlsCa]),
    serverName: optional(flags.tlsServerName, env[TLS_ENV.tlsServerName]),
  };
  const envOn = env[TLS_ENV.tls]?.trim().toLowerCase();
  if (envOn !== undefined && envOn !== '' && !['1', 'true', '0', 'false'].includes(envOn)) {
    throw new UsageError(`${TLS_ENV.tls} must be 1, true, 0 or false, got "${env[TLS_ENV.tls]}"`);
  }
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new UsageError(`--tls-cert / ${TLS_ENV.tlsCert} and --tls-key / ${TLS_ENV.tlsKey} go together: mTLS needs the certificate and its key`);
  }
  const any = Object.values(files).some((v) => v !== undefined);
  if (!any && !flags.tls && envOn !== '1' && envOn !== 'true') return undefined;
  return Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) as TemporalTlsFiles;
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
  const tls = resolveTls(flags, env);
  if (tls) config.tls = tls;
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
