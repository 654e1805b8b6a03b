import type { Client } from '@temporalio/client';
import type { Store } from '../../src/store/store';

/** Every workflow execution the namespace knows (each run of a continued-as-new workflow separately). */
export async function allExecutions(client: Client, query?: string): Promise<Array<{ workflowId: string; runId: string }>> {
  const out: Array<{ workflowId: string; runId: string }> = [];
  for await (const wf of client.workflow.list(query ? { query } : {})) out.push({ workflowId: wf.workflowId, runId: wf.runId });
  return out;
}

/**
 * Flattens a decoded value (a history, a document) into text: strings as they are, byte arrays (payload
 * data) as UTF-8 and as base64, so a secret is found whether it travels raw or encoded.
 */
export function flattenText(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) {
    const buf = Buffer.from(value);
    out.push(buf.toString('utf8'), buf.toString('base64'));
  } else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') out.push(String(value));
  else if (value !== null && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    if (typeof (value as { toHexString?: unknown }).toHexString === 'function') out.push(String(value));
    for (const v of Object.values(value as Record<string, unknown>)) flattenText(v, out, seen);
  }
  return out;
}

/** The full history of every execution, flattened to text, with how many executions and events were read. */
export async function historiesText(client: Client, query?: string): Promise<{ text: string; executions: number; events: number }> {
  const runs = await allExecutions(client, query);
  const parts: string[] = [];
  let events = 0;
  for (const run of runs) {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    events += history.events?.length ?? 0;
    flattenText(history, parts);
  }
  return { text: parts.join('\n'), executions: runs.length, events };
}

/** Every document of every collection of the store's database, flattened to text, with a count. */
export async function databaseText(store: Store): Promise<{ text: string; documents: number; collections: string[] }> {
  const names = (await store.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const parts: string[] = [];
  let documents = 0;
  for (const name of names) {
    const docs = await store.db.collection(name).find({}).toArray();
    documents += docs.length;
    for (const d of docs) parts.push(JSON.stringify(d));
  }
  return { text: parts.join('\n'), documents, collections: names };
}

/** Document counts per collection, for "nothing was written" checks. */
export async function collectionCounts(store: Store): Promise<Record<string, number>> {
  const names = (await store.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = await store.db.collection(name).countDocuments({});
  return counts;
}
