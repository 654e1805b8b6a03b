import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { once } from 'node:events';
import { stringify } from 'yaml';
import { resolveOutputPath } from '../config/schema';
import type { Store } from '../store/store';
import type { AssignmentDoc, JobDoc } from '../store/documents';
import { iterateDetails, withResults } from './source';
import type { ResultDoc, SampleDoc } from '../store/documents';
import { eventLine } from './events';
import { buildSummary, cellOf } from './summary';
import { summaryCsv, summaryMarkdown } from './render';

/**
 * Writes an assignment in the output-folder layout people know from older runners:
 * configs/assignment.{json,yaml}, predictions/<model>/<task>.jsonl, results/<model>/<task>.json,
 * logs/<model>/<task>.log (one line per sample: when, which worker, how it ended, attempts, error) and
 * logs/events.log, transcripts/<model>/<task>.jsonl for agent tasks, summary.md and summary.csv.
 * MongoDB stays the source of truth; the folder is a copy that can be rewritten at any time (each file
 * is written to a temp name and renamed, so readers never see half a file).
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

/** Streams lines into a file written under a temp name and renamed at the end; returns the line count. */
async function writeLines(file: string, lines: AsyncIterable<string>): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  let n = 0;
  try {
    for await (const line of lines) {
      if (!out.write(`${line}\n`)) await once(out, 'drain');
      n += 1;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  await rename(tmp, file);
  return n;
}

async function* predictionLines(store: Store, job: JobDoc, onPage?: () => void): AsyncGenerator<string> {
  for await (const row of iterateDetails(store, { assignmentId: job.assignmentId, jobId: job.jobId }, onPage)) yield JSON.stringify(row);
}

type LogResult = Pick<ResultDoc, '_id' | 'sampleId' | 'worker' | 'startedAt' | 'finishedAt' | 'attempts' | 'errorType' | 'error' | 'latencyMs' | 'restarts' | 'transcript' | 'episode'>;

/** A job's samples in index order, each with its stored result, read in pages. */
async function* samplesWithResults(store: Store, job: JobDoc, withTranscript: boolean, onPage?: () => void): AsyncGenerator<[Pick<SampleDoc, 'index' | 'sampleKey' | 'status'>, LogResult | undefined]> {
  const cursor = store.samples.find({ assignmentId: job.assignmentId, jobId: job.jobId }, { projection: { index: 1, sampleKey: 1, status: 1 } }).sort({ index: 1 });
  const projection = { sampleId: 1, worker: 1, startedAt: 1, finishedAt: 1, attempts: 1, errorType: 1, error: 1, latencyMs: 1, restarts: 1, ...(withTranscript ? { transcript: 1, episode: 1 } : {}) };
  yield* withResults<Pick<SampleDoc, 'index' | 'sampleKey' | 'status'>, LogResult>(store, cursor, projection, onPage);
}

/**
 * The log of a job: per sample, when and on which worker it ran, how it ended, its attempts and latency,
 * and its error. Built from what each result records, not from the workers' own output, which stays
 * with the workers (their stderr or a fleet's log files).
 */
async function* logLines(store: Store, job: JobDoc, onPage?: () => void): AsyncGenerator<string> {
  for await (const [s, r] of samplesWithResults(store, job, false, onPage)) {
    const at = (r?.finishedAt ?? r?.startedAt)?.toISOString() ?? '-';
    const how = s.status === 'reused' ? `reused (result of ${r?.finishedAt?.toISOString() ?? 'an earlier run'})` : s.status;
    const facts = [r?.worker ? `worker=${r.worker}` : '', r ? `attempts=${r.attempts}` : '', typeof r?.latencyMs === 'number' ? `latencyMs=${Math.round(r.latencyMs)}` : '', r?.restarts ? `restarts=${r.restarts}` : ''];
    const error = s.status === 'failed' || s.status === 'canceled' ? (r?.error ? `  ${r.errorType ?? 'error'}: ${r.error}` : '') : '';
    yield `${at}  ${job.jobId} #${s.index}${r?.sampleId ? ` (${r.sampleId})` : ''}  ${how}  ${facts.filter(Boolean).join(' ')}${error}`.trimEnd();
  }
}

async function* transcriptLines(store: Store, job: JobDoc, onPage?: () => void): AsyncGenerator<string> {
  for await (const [s, r] of samplesWithResults(store, job, true, onPage)) {
    if (r?.transcript) yield JSON.stringify({ index: s.index, sampleId: r.sampleId, status: s.status, episode: r.episode ?? null, transcript: r.transcript });
  }
}

function configTasks(config: Record<string, unknown>): Array<{ id?: unknown; kind?: unknown }> {
  return Array.isArray(config.tasks) ? (config.tasks as Array<{ id?: unknown; kind?: unknown }>) : [];
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
  const lines = async (rel: string, source: AsyncIterable<string>): Promise<number> => {
    const n = await writeLines(join(dir, rel), source);
    files.push(rel);
    return n;
  };
  const agentTasks = new Set(configTasks(assignment.config).filter((t) => t.kind === 'agent').map((t) => t.id));
  let samples = 0;
  for (const job of jobs) {
    samples += await lines(join('predictions', job.modelId, `${job.taskId}.jsonl`), predictionLines(store, job, onPage));
    await put(join('results', job.modelId, `${job.taskId}.json`), `${JSON.stringify(jobResultFile(job), null, 2)}\n`);
    await lines(join('logs', job.modelId, `${job.taskId}.log`), logLines(store, job, onPage));
    if (agentTasks.has(job.taskId)) await lines(join('transcripts', job.modelId, `${job.taskId}.jsonl`), transcriptLines(store, job, onPage));
  }
  const events = await store.events.find({ assignmentId: assignment._id }).sort({ at: 1, _id: 1 }).toArray();
  await put(join('logs', 'events.log'), events.map((e) => `${eventLine(e)}\n`).join(''));
  const table = buildSummary(assignment, jobs);
  await put('summary.md', summaryMarkdown(table));
  await put('summary.csv', summaryCsv(table));
  return { dir, files, samples };
}
