import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { once } from 'node:events';
import { stringify } from 'yaml';
import { resolveOutputPath } from '../config/schema';
import type { Store } from '../store/store';
import type { AssignmentDoc, JobDoc } from '../store/documents';
import { iterateDetails } from './source';
import { buildSummary, cellOf } from './summary';
import { summaryCsv, summaryMarkdown } from './render';

/**
 * Writes an assignment in the output-folder layout people know from older runners:
 * configs/assignment.{json,yaml}, predictions/<model>/<task>.jsonl, results/<model>/<task>.json,
 * summary.md and summary.csv. MongoDB stays the source of truth; the folder is a copy that can be
 * rewritten at any time (each file is written to a temp name and renamed, so readers never see half a file).
 */

/** What an export wrote. */
export interface ExportResult {
  dir: string;
  files: string[];
  samples: number;
}

/** The per-job results file: the job's figures, without samples (those are in predictions/). */
export interface JobResultFile {
  assignmentId: string;
  jobId: string;
  modelId: string;
  taskId: string;
  status: JobDoc['status'];
  counts: JobDoc['counts'];
  score: ReturnType<typeof cellOf>['score'];
  latencyMs: ReturnType<typeof cellOf>['latencyMs'];
  tokens: ReturnType<typeof cellOf>['tokens'];
  cost: number;
  /** Agent tasks: the environment's overall metric (calculate_overall). */
  overall?: unknown;
}

/** The results file of a job. */
export function jobResultFile(job: JobDoc): JobResultFile {
  const c = cellOf(job);
  return {
    assignmentId: job.assignmentId, jobId: job.jobId, modelId: job.modelId, taskId: job.taskId,
    status: job.status, counts: job.counts, score: c.score, latencyMs: c.latencyMs, tokens: c.tokens, cost: c.cost,
    ...(c.overall === undefined ? {} : { overall: c.overall }),
  };
}

/**
 * Where finalisation exports an assignment: the config's `output` template with {NAME} and {TIMESTAMP}
 * (the assignment's creation time, so a retried finalisation writes the same folder). A relative path
 * is taken from the config file's folder, else from the worker's working directory.
 */
export function exportDirOf(assignment: Pick<AssignmentDoc, 'name' | 'createdAt' | 'sourcePath'>, template: string, cwd = process.cwd()): string {
  const path = resolveOutputPath(template, assignment.name, assignment.createdAt);
  if (isAbsolute(path)) return path;
  // An assignment built from --models/--tasks records its config folder, not a file: use the worker's cwd then.
  const src = assignment.sourcePath;
  return resolve(src && /\.(ya?ml|json)$/i.test(src) ? dirname(src) : cwd, path);
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

async function writePredictions(store: Store, job: JobDoc, file: string, onPage?: () => void): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  let n = 0;
  try {
    for await (const row of iterateDetails(store, { assignmentId: job.assignmentId, jobId: job.jobId }, onPage)) {
      if (!out.write(`${JSON.stringify(row)}\n`)) await once(out, 'drain');
      n += 1;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  await rename(tmp, file);
  return n;
}

/** Writes the export folder of an assignment; `onPage` runs between pages of samples (heartbeats). */
export async function exportAssignment(store: Store, assignment: AssignmentDoc, dir: string, onPage?: () => void): Promise<ExportResult> {
  const jobs = await store.jobs.find({ assignmentId: assignment._id }).sort({ _id: 1 }).toArray();
  const files: string[] = [];
  const put = async (rel: string, text: string): Promise<void> => {
    await writeAtomic(join(dir, rel), text);
    files.push(rel);
  };
  await put('configs/assignment.json', `${JSON.stringify(assignment.config, null, 2)}\n`);
  await put('configs/assignment.yaml', stringify(assignment.config));
  let samples = 0;
  for (const job of jobs) {
    const rel = join('predictions', job.modelId, `${job.taskId}.jsonl`);
    samples += await writePredictions(store, job, join(dir, rel), onPage);
    files.push(rel);
    await put(join('results', job.modelId, `${job.taskId}.json`), `${JSON.stringify(jobResultFile(job), null, 2)}\n`);
  }
  const table = buildSummary(assignment, jobs);
  await put('summary.md', summaryMarkdown(table));
  await put('summary.csv', summaryCsv(table));
  return { dir, files, samples };
}
