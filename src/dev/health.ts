import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { SEARCH_ATTRIBUTES } from '../contracts';
import { httpStatus, isListening, LOCALHOST } from './net';

/**
 * True when the Temporal frontend answers on the port and the namespace carries every evalctl search
 * attribute: the dev server registers them after it starts listening, and workflows fail without them.
 */
export async function temporalReady(port: number, namespace: string): Promise<boolean> {
  if (!(await isListening(port))) return false;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: `${LOCALHOST}:${port}`, connectTimeout: 2000 });
    const conn = connection;
    const res = await conn.withDeadline(Date.now() + 2000, () => conn.operatorService.listSearchAttributes({ namespace }));
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
  return (await httpStatus(`http://${LOCALHOST}:${uiPort}/`)) === 200;
}

/** True when a MongoDB-compatible server at the URL answers a ping. */
export async function mongoReady(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
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
