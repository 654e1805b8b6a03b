import { Client, Connection } from '@temporalio/client';
import type { ConnectionConfig } from '../config/connection';
import { payloadCodecsFromEnv } from './codec';
import { temporalTlsConfig } from './tls';
import { defaultDataDir, readStackState } from '../dev/state';

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

/**
 * Base URL of the Temporal Web UI: EVALCTL_UI_URL; else the UI port of the local dev stack (`dev up`
 * records it in its data dir, `$EVALCTL_DEV_DIR` or the default) when that stack serves `temporalAddress`
 * (default TEMPORAL_ADDRESS); else the dev server's default port 8233.
 */
export function uiBaseUrl(env: NodeJS.ProcessEnv = process.env, temporalAddress = env.TEMPORAL_ADDRESS): string {
  const explicit = env.EVALCTL_UI_URL?.trim();
  if (explicit) return explicit;
  try {
    const t = readStackState(defaultDataDir(env)).temporal;
    const port = temporalAddress ? Number(/:(\d+)$/.exec(temporalAddress.trim())?.[1] ?? 7233) : 7233;
    if (t && t.port === port) return `http://127.0.0.1:${t.uiPort}`;
  } catch {
    // No readable stack state: the default below.
  }
  return 'http://127.0.0.1:8233';
}
