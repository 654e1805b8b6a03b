import { ApplicationFailure } from '@temporalio/common';
import type { Sample } from '../datasets';
import { openTaskSamples } from '../environments';
import { inferenceKey, sampleKey } from '../config/keys';
import type { ModelConfig, TaskConfig } from '../config/schema';
import { modelFor } from '../config/limits';
import { ErrorTypes } from '../contracts';

/** A sample with the two keys that name its request. */
export interface KeyedSample {
  sample: Sample;
  inferenceKey: string;
  sampleKey: string;
}

/** Reads the samples at the given indexes, reading contiguous runs as one page. */
export async function readSamples(task: TaskConfig, indexes: number[]): Promise<Map<number, Sample>> {
  const dataset = await openTaskSamples(task);
  const found = new Map<number, Sample>();
  for (const [start, length] of contiguousRuns(indexes)) {
    const page = await dataset.readPage(start, length);
    page.forEach((sample, i) => found.set(start + i, sample));
  }
  for (const index of indexes) {
    if (!found.has(index)) {
      throw ApplicationFailure.nonRetryable(`task ${task.id}: sample ${index} is beyond the dataset (${dataset.count} samples); did the file change?`, ErrorTypes.DatasetInvalid);
    }
  }
  return found;
}

/** Reads samples and computes their keys. */
export async function keyedSamples(model: ModelConfig, task: TaskConfig, indexes: number[]): Promise<Map<number, KeyedSample>> {
  const samples = await readSamples(task, indexes);
  const keyed = new Map<number, KeyedSample>();
  // A task's token limit caps max_tokens, so it is part of what is asked.
  const asked = modelFor(model, task);
  for (const [index, sample] of samples) {
    const ik = inferenceKey(asked, task, { fields: sample.fields, target: sample.target, epoch: sample.epoch });
    keyed.set(index, { sample, inferenceKey: ik, sampleKey: sampleKey(ik, task.scorer) });
  }
  return keyed;
}

/** Reads the one sample an execution is for, and checks it is still the sample that was planned. */
export async function sampleFor(model: ModelConfig, task: TaskConfig, index: number, expectedKey: string): Promise<KeyedSample> {
  const keyed = (await keyedSamples(model, task, [index])).get(index) as KeyedSample;
  if (keyed.sampleKey !== expectedKey) {
    throw ApplicationFailure.nonRetryable(`task ${task.id}: sample ${index} changed since it was planned (dataset file edited during the run)`, ErrorTypes.DatasetInvalid);
  }
  return keyed;
}

/** Splits indexes into [start, length] runs of consecutive numbers. */
export function contiguousRuns(indexes: number[]): Array<[number, number]> {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const index of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === index) last[1] += 1;
    else runs.push([index, 1]);
  }
  return runs;
}
