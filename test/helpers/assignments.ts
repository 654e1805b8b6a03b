import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CallLogEntry } from '../../src/providers/call-log';

/** A small synthetic workload: models x tasks x samples on the simulated provider. */
export interface WorkloadSpec {
  name: string;
  models: number;
  tasks: number;
  samples: number;
  /** Changes every sample key, so tests sharing a database never reuse each other's results. */
  salt: string;
  latencyMs?: unknown;
  accuracy?: number;
  concurrency?: number;
  global?: number;
  extra?: Record<string, unknown>;
}

/** Writes datasets and an assignment YAML for a workload into dir; returns the config path. */
export function writeWorkload(dir: string, spec: WorkloadSpec): string {
  const tasks = Array.from({ length: spec.tasks }, (_, t) => {
    const file = join(dir, `${spec.name}-task${t}.jsonl`);
    const lines = Array.from({ length: spec.samples }, (_, i) => JSON.stringify({ id: `s${i}`, question: `${spec.salt} task ${t}: what is ${i} + ${t}?`, target: String(i + t) }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { id: `task${t}`, dataset: { path: file }, prompt: 'Answer with a number. {{question}}', scorer: { kind: 'exact' } };
  });
  const models = Array.from({ length: spec.models }, (_, m) => ({
    id: `model${m}`,
    provider: { kind: 'simulated', latencyMs: spec.latencyMs ?? 0, accuracy: spec.accuracy ?? 0.7, seed: m },
    concurrency: spec.concurrency ?? 16,
  }));
  const config = { name: spec.name, models, tasks, concurrency: { global: spec.global ?? 256 }, ...spec.extra };
  const path = join(dir, `${spec.name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** Every entry of a simulated provider's call log (empty when no call was made yet). */
export function readCallLog(file: string): CallLogEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as CallLogEntry);
}

/** How many calls started per sample key. */
export function startsPerKey(entries: CallLogEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) if (e.event === 'start') counts.set(e.sampleKey, (counts.get(e.sampleKey) ?? 0) + 1);
  return counts;
}

/** What a worker killed mid-run cost, from the call log and the stored results. */
export interface KillAccounting {
  /** Calls started for a sample after its result was stored: must be none. */
  calledAfterStore: CallLogEntry[];
  /** Calls the killed worker started for samples not stored by the kill (lost with the process). */
  lost: number;
  /** Every call started. */
  starts: number;
}

/** Counts, from the call log, what a SIGKILL of the worker with pid `killedPid` at `killedAt` cost. */
export function killAccounting(
  log: CallLogEntry[], results: Array<{ _id: string; finishedAt: Date }>, killedPid: number | undefined, killedAt: number,
): KillAccounting {
  const storedAt = new Map(results.map((r) => [r._id, r.finishedAt.getTime()]));
  const started = log.filter((e) => e.event === 'start');
  return {
    calledAfterStore: started.filter((e) => e.t > (storedAt.get(e.sampleKey) ?? Infinity)),
    lost: started.filter((e) => e.pid === killedPid && (storedAt.get(e.sampleKey) ?? Infinity) > killedAt).length,
    starts: started.length,
  };
}
