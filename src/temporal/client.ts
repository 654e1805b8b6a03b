import { Client, Connection } from '@temporalio/client';
import type { ConnectionConfig } from '../config/connection';
import { payloadCodecsFromEnv } from './codec';
import { temporalTlsConfig } from './tls';

/** A Temporal client and the connection behind it, closed together. */
export interface TemporalHandle {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/**
 * Connects to the Temporal frontend named by the connection settings, over TLS when configured, with the
 * payload codec when EVALCTL_CODEC_KEY is set, so every client reads and writes what workers do.
 */
export async function connectTemporal(conn: ConnectionConfig, env: NodeJS.ProcessEnv = process.env, connectTimeoutMs = 10_000): Promise<TemporalHandle> {
  const payloadCodecs = payloadCodecsFromEnv(env);
  const tls = temporalTlsConfig(conn.tls);
  const connection = await Connection.connect({ address: conn.temporalAddress, connectTimeout: connectTimeoutMs, ...(tls ? { tls } : {}) });
  const client = new Client({ connection, namespace: conn.temporalNamespace, ...(payloadCodecs.length ? { dataConverter: { payloadCodecs } } : {}) });
  return { client, connection, close: () => connection.close() };
}

/** The Web UI URL of a workflow, when the UI address is known (EVALCTL_UI_URL or the dev stack's default). */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Base URL of the Temporal Web UI: EVALCTL_UI_URL, else the dev stack's default port. */
export function uiBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.EVALCTL_UI_URL?.trim() || 'http://127.0.0.1:8233';
}
