import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SimulatedProviderConfig } from '../../src/config/schema';
import { SimulatedProvider } from '../../src/providers/simulated';

/** One benchmark workload: a simulated model with fixed latency over a synthetic dataset. */
export interface Workload {
  samples: number;
  latencyMs: number;
  concurrency: number;
  fanout: 'per-sample' | 'batch';
  /** Makes every sample key new, so runs sharing a database never reuse each other's results. */
  salt: string;
}

/** The simulated provider's settings for a workload: fixed latency, no errors. */
export function providerConfig(w: Pick<Workload, 'latencyMs'>): SimulatedProviderConfig {
  return {
    kind: 'simulated', latencyMs: w.latencyMs, accuracy: 0.7, seed: 1, errorRate: 0, rateLimitRate: 0,
    permanentErrorRate: 0, retryAfterMs: 1000,
  };
}

/** Writes a JSONL dataset of `samples` lines, streamed in chunks so a million lines need little memory. */
export function writeDataset(file: string, samples: number, salt: string): void {
  writeFileSync(file, '');
  const chunk = 10_000;
  for (let start = 0; start < samples; start += chunk) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(samples, start + chunk); i++) {
      lines.push(JSON.stringify({ id: `s${i}`, question: `${salt}: what is ${i} + 1?`, target: String(i + 1) }));
    }
    writeFileSync(file, `${lines.join('\n')}\n`, { flag: 'a' });
  }
}

/** Writes the dataset and an assignment YAML (one model, one task) for a workload; returns the config path. */
export function writeWorkloadConfig(dir: string, name: string, w: Workload): string {
  const dataset = join(dir, `${name}.jsonl`);
  writeDataset(dataset, w.samples, w.salt);
  const { kind, latencyMs, accuracy, seed, errorRate, rateLimitRate, permanentErrorRate } = providerConfig(w);
  const config = {
    name,
    models: [{ id: 'sim', provider: { kind, latencyMs, accuracy, seed, errorRate, rateLimitRate, permanentErrorRate }, concurrency: w.concurrency, timeoutMs: 60_000 }],
    tasks: [{ id: 'add', dataset: { path: dataset }, prompt: 'Answer with a number. {{question}}', scorer: { kind: 'exact' } }],
    concurrency: { global: w.concurrency, jobs: 1 },
    retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 2, maxIntervalMs: 2000 },
    fanout: w.fanout,
    // Benchmarks measure execution: no export folder at the end.
    output: false,
  };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** What the ideal run measured. */
export interface IdealResult {
  seconds: number;
  throughput: number;
}

/**
 * The ideal: the same simulated provider called `samples` times through a plain in-process promise pool of
 * `concurrency`, with nothing durable around it. evalctl's efficiency is measured against this.
 */
export async function runIdeal(w: Pick<Workload, 'samples' | 'latencyMs' | 'concurrency' | 'salt'>): Promise<IdealResult> {
  const provider = new SimulatedProvider('sim', providerConfig(w));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < w.samples) {
      const i = next++;
      const prompt = `Answer with a number. ${w.salt}: what is ${i} + 1?`;
      const request = { sampleKey: `${w.salt}-${i}`, messages: [{ role: 'user' as const, content: prompt }], prompt, params: {}, target: String(i + 1) };
      await provider.infer(request, { signal: new AbortController().signal, env: {} });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(w.concurrency, w.samples) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { seconds, throughput: w.samples / seconds };
}
