import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Store } from '../../src/store/store';
import type { BatchServer } from '../fixtures/batch-server';
import { runCli } from './cli';

/** The key the batch fixture accepts; workers get it from BATCH_TEST_KEY, configs name it as ${BATCH_TEST_KEY}. */
export const BATCH_KEY = 'sk-batch-test-secret-1234';

/** A provider batch workload: `samples` questions whose answer is the last number; `duplicates` repeat sample 1's content. */
export interface BatchWorkload {
  name: string;
  salt: string;
  samples: number;
  baseUrl: string;
  batch?: Record<string, unknown>;
  /** Indexes whose question carries the word the fixture's failWhen looks for. */
  failing?: number[];
  /** Indexes that repeat the content of index 1 (same sample key: one request answers both). */
  duplicates?: number[];
  extra?: Record<string, unknown>;
}

/** Writes the dataset and the assignment YAML; returns the config path. */
export function writeBatchWorkload(dir: string, w: BatchWorkload): string {
  const question = (i: number): string => `${w.salt}${w.failing?.includes(i) ? ' fail-me' : ''}: repeat ${i}`;
  const lines = Array.from({ length: w.samples }, (_, i) => {
    const source = w.duplicates?.includes(i) ? 1 : i;
    return JSON.stringify({ id: `s${source}`, question: question(source), target: String(source) });
  });
  const dataset = join(dir, `${w.name}.jsonl`);
  writeFileSync(dataset, `${lines.join('\n')}\n`);
  const config = {
    name: w.name,
    models: [{
      id: 'batched',
      provider: { kind: 'openai', baseUrl: w.baseUrl, model: 'fake-batch', apiKey: '${BATCH_TEST_KEY}', batch: { maxRequests: 4, pollIntervalMs: 150, ...w.batch } },
    }],
    tasks: [{ id: 'echo', dataset: { path: dataset }, prompt: 'Answer with the number. {{question}}', scorer: { kind: 'exact' } }],
    failOnError: false,
    ...w.extra,
  };
  const path = join(dir, `${w.name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** `evalctl status --json`, as tests read it. */
export interface BatchStatusView {
  status: string;
  counts: Record<string, number>;
  batches?: Array<{ remoteId: string | null; round: number; status: string; requests: number; counts?: { completed: number; failed: number; total: number } }>;
}

/** `evalctl status <id> --json`. */
export async function statusOf(env: NodeJS.ProcessEnv, id: string): Promise<BatchStatusView> {
  const res = await runCli(['status', id, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as BatchStatusView;
}

/** Follows an assignment to its end and answers its status. */
export async function finishBatch(env: NodeJS.ProcessEnv, id: string, timeoutMs = 180_000): Promise<BatchStatusView> {
  const end = await runCli(['watch', id], { env, timeoutMs });
  assert.ok(end.code === 0 || end.code === 1, end.stderr);
  return statusOf(env, id);
}

/**
 * What every provider batch test holds: one sample record per index, one result per sample key, and
 * the endpoint ran each request (custom_id = sample key) exactly once.
 */
export async function assertExactlyOnce(store: Store, server: BatchServer, id: string, samples: number): Promise<void> {
  const records = await store.samples.find({ assignmentId: id }).toArray();
  assert.equal(records.length, samples, 'one sample record per index');
  assert.equal(new Set(records.map((r) => r.index)).size, samples);
  const keys = [...new Set(records.map((r) => r.sampleKey))];
  const results = await store.results.find({ _id: { $in: keys } }).toArray();
  assert.equal(results.length, keys.length, 'one result per sample key');
  const ran = keys.filter((k) => server.executed.has(k));
  for (const k of ran) assert.equal(server.executed.get(k), 1, `request ${k.slice(0, 12)} ran ${server.executed.get(k)} times`);
  const created = new Map<string, number>();
  for (const b of server.batches()) {
    const key = b.metadata?.evalctl_batch_key;
    if (key?.startsWith(`${id}/`)) created.set(key, (created.get(key) ?? 0) + 1);
  }
  for (const [key, n] of created) assert.equal(n, 1, `batch ${key} created ${n} times`);
}
