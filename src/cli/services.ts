import type { Command } from 'commander';
import { connectionFromCommand, redactUrl, type ConnectionConfig } from '../config/connection';
import { openStore, type Store } from '../store/store';
import { connectTemporal, type TemporalHandle } from '../temporal/client';
import { temporalTlsConfig } from '../temporal/tls';
import type { AssignmentDoc } from '../store/documents';
import { RunFailedError, UsageError } from './errors';

/** The servers a command talks to, opened for the command and closed after it. */
export interface Services {
  connection: ConnectionConfig;
  store: Store;
  temporal: TemporalHandle;
}

/**
 * Opens MongoDB and Temporal for one command, runs it, and closes both whatever happens. An unreachable
 * server is a failed run (exit 1) that names the address and how to start a local stack.
 */
export async function withServices<T>(cmd: Command, work: (s: Services) => Promise<T>): Promise<T> {
  const connection = connectionFromCommand(cmd);
  // A missing or malformed --tls-* file is bad input (exit 2), said before any server is asked.
  temporalTlsConfig(connection.tls);
  const store = await openStore(connection.mongoUrl).catch((err: unknown) => {
    throw new RunFailedError(`cannot reach MongoDB at ${redactUrl(connection.mongoUrl)} (${messageOf(err)}); start one with \`evalctl dev up\` or set --mongo-url / EVALCTL_MONGO_URL`);
  });
  let temporal: TemporalHandle;
  try {
    temporal = await connectTemporal(connection);
  } catch (err) {
    await store.close();
    if (err instanceof UsageError) throw err;
    if (connection.tls && /certificate|tls|ssl|handshake/i.test(messageOf(err))) {
      throw new RunFailedError(`TLS to Temporal at ${connection.temporalAddress} failed (${messageOf(err)}); check --tls-ca, --tls-cert, --tls-key and --tls-server-name`);
    }
    throw new RunFailedError(`cannot reach Temporal at ${connection.temporalAddress} (${messageOf(err)}); start one with \`evalctl dev up\` or set --address / TEMPORAL_ADDRESS`);
  }
  try {
    return await work({ connection, store, temporal });
  } finally {
    await Promise.allSettled([store.close(), temporal.close()]);
  }
}

/** The servers of a command that can still answer from MongoDB alone when Temporal is away. */
export interface MaybeServices {
  connection: ConnectionConfig;
  store: Store;
  /** Undefined when Temporal could not be reached; `unreachable` then says why. */
  temporal?: TemporalHandle;
  unreachable?: string;
}

/**
 * Like withServices, for read-only commands that can show what MongoDB knows while Temporal is down: a
 * Temporal that does not answer within 3 s is reported in `unreachable` instead of failing the command.
 */
export async function withStoreAndMaybeTemporal<T>(cmd: Command, work: (s: MaybeServices) => Promise<T>): Promise<T> {
  const connection = connectionFromCommand(cmd);
  temporalTlsConfig(connection.tls);
  const store = await openStore(connection.mongoUrl).catch((err: unknown) => {
    throw new RunFailedError(`cannot reach MongoDB at ${redactUrl(connection.mongoUrl)} (${messageOf(err)}); start one with \`evalctl dev up\` or set --mongo-url / EVALCTL_MONGO_URL`);
  });
  const temporal = await connectTemporal(connection, process.env, 3_000).catch((err: unknown) => err);
  const reachable = !(temporal instanceof Error) && temporal !== undefined;
  try {
    return reachable
      ? await work({ connection, store, temporal: temporal as TemporalHandle })
      : await work({ connection, store, unreachable: `Temporal at ${connection.temporalAddress} is unreachable (${messageOf(temporal)})` });
  } finally {
    await Promise.allSettled([store.close(), ...(reachable ? [(temporal as TemporalHandle).close()] : [])]);
  }
}

/** Assignment ids are slugs: anything else is rejected before a server is asked. */
export const ASSIGNMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks the shape of an id given on the command line. */
export function checkAssignmentId(id: string | undefined, what = '<id>'): string {
  if (!id || !ASSIGNMENT_ID.test(id)) {
    throw new UsageError(`${what}: "${String(id ?? '')}" is not an assignment id (letters, digits, '.', '_' and '-', at most 128)`);
  }
  return id;
}

/** Reads an assignment or fails with a clear message (exit 2) naming the id. */
export async function findAssignment(store: Store, id: string): Promise<AssignmentDoc> {
  const doc = await store.assignments.findOne({ _id: checkAssignmentId(id) });
  if (!doc) throw new UsageError(`no assignment with id "${id}" (see \`evalctl list\`)`);
  return doc;
}

/** The message of an unknown thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes data for scripts on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
