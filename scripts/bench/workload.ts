import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SimulatedProviderConfig } from '../../src/config/schema';
import { ModelConfigSchema } from '../../src/config/schema-model';
import { OpenAIProvider } from '../../src/providers/openai';
import { SimulatedProvider } from '../../src/providers/simulated';
import type { Provider } from '../../src/providers/types';

/** One benchmark workload: a simulated model with fixed latency over a synthetic dataset. */
export interface Workload {
  samples: number;
  latencyMs: number;
  concurrency: number;
  /** The config's `fanout`; `default` leaves it out, so the planner's default decides. */
  fanout: 'per-sample' | 'batch' | 'default';
  /** Makes every sample key new, so runs sharing a database never reuse each other's results. */
  salt: string;
  /** Set: the model is the `openai` provider against this OpenAI-compatible base URL (the bench's endpoint). */
  baseUrl?: string;
}

/** The model entry of a workload: the simulated provider, or the real `openai` provider against the bench endpoint. */
function modelOf(w: Workload): Record<string, unknown> {
  if (w.baseUrl) {
    return { id: 'http', provider: { kind: 'openai', baseUrl: w.baseUrl, model: 'bench' }, concurrency: w.concurrency, timeoutMs: 60_000 };
  }
  const { kind, latencyMs, accuracy, seed, errorRate, rateLimitRate, permanentErrorRate } = providerConfig(w);
  return { id: 'sim', provider: { kind, latencyMs, accuracy, seed, errorRate, rateLimitRate, permanentErrorRate }, concurrency: w.concurrency, timeoutMs: 60_000 };
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
  const config = {
    name,
    models: [modelOf(w)],
    tasks: [{ id: 'add', dataset: { path: dataset }, prompt: 'Answer with a number. {{question}}', scorer: { kind: 'exact' } }],
    concurrency: { global: w.concurrency, jobs: 1 },
    retry: { maxAttempts: 3, initialIntervalMs: 200, backoffCoefficient: 2, maxIntervalMs: 2000 },
    ...(w.fanout === 'default' ? {} : { fanout: w.fanout }),
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
 * The ideal: the same provider (simulated, or the `openai` provider against the bench endpoint) called
 * `samples` times through a plain in-process promise pool of `concurrency`, with nothing durable around it.
 */
export async function runIdeal(w: Pick<Workload, 'samples' | 'latencyMs' | 'concurrency' | 'salt' | 'baseUrl'>): Promise<IdealResult> {
  const provider: Provider = w.baseUrl
    ? new OpenAIProvider(ModelConfigSchema.parse(modelOf({ ...w, fanout: 'default' })))
    : new SimulatedProvider('sim', providerConfig(w));
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
