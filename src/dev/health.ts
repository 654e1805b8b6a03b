import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { SEARCH_ATTRIBUTES } from '../contracts';
import { httpStatus, isListening, LOCALHOST } from './net';

/** How long one health probe waits for an answer: a loaded machine answers slowly, but it is not down. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * True when the Temporal frontend answers on the port and the namespace carries every evalctl search
 * attribute: the dev server registers them after it starts listening, and workflows fail without them.
 */
export async function temporalReady(port: number, namespace: string): Promise<boolean> {
  if (!(await isListening(port))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: `${LOCALHOST}:${port}`, connectTimeout: PROBE_TIMEOUT_MS });
    const conn = connection;
    const res = await conn.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () => conn.operatorService.listSearchAttributes({ namespace }));
    const names = Object.keys(res.customAttributes ?? {});
    return Object.keys(SEARCH_ATTRIBUTES).every((name) => names.includes(name));
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** True when the Temporal Web UI serves its page (HTTP 200). */
export async function uiReady(uiPort: number): Promise<boolean> {
  return (await httpStatus(`http://${LOCALHOST}:${uiPort}/`, PROBE_TIMEOUT_MS)) === 200;
}

/** True when a MongoDB-compatible server at the URL answers a ping. */
export async function mongoReady(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: PROBE_TIMEOUT_MS, connectTimeoutMS: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}
