import type { WorkflowHandle } from '@temporalio/client';
import type { Store } from '../../src/store/store';
import { findByIds } from '../../src/store/store';
import type { TemporalHandle } from '../../src/temporal/client';
import { round } from './proc-stats';

/** Workflows of one assignment, as the visibility store lists them. */
export interface WorkflowCensus {
  workflows: number;
  historyEvents: number;
  /** Start time of each sample workflow, by sample key (per-sample fan-out). */
  sampleStarts: Map<string, number>;
  /** Workflow ids of the shards (batch fan-out). */
  shardIds: string[];
}

const SAMPLE_PREFIX = 'evalctl/sample/';

/** Lists every workflow run of an assignment (continued-as-new runs included) with its history length. */
export async function censusOf(t: TemporalHandle, assignmentId: string): Promise<WorkflowCensus> {
  const census: WorkflowCensus = { workflows: 0, historyEvents: 0, sampleStarts: new Map(), shardIds: [] };
  for await (const wf of t.client.workflow.list({ query: `EvalAssignment = '${assignmentId}'` })) {
    let length = wf.historyLength;
    // Visibility may not carry the length of a run closed a moment ago: ask the run itself.
    if (!length) length = (await t.client.workflow.getHandle(wf.workflowId, wf.runId).describe()).historyLength;
    census.workflows += 1;
    census.historyEvents += length;
    if (wf.workflowId.startsWith(SAMPLE_PREFIX)) census.sampleStarts.set(wf.workflowId.slice(SAMPLE_PREFIX.length), wf.startTime.getTime());
    if (wf.type === 'shardWorkflow') census.shardIds.push(wf.workflowId);
  }
  return census;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function millisOf(event: HistoryEvent): number {
  const t = event.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/** When each model-call activity of the shards was scheduled, by sample key: a batch sample's start. */
export async function shardActivityStarts(t: TemporalHandle, shardIds: string[]): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  for (const id of shardIds) {
    const history = await t.client.workflow.getHandle(id).fetchHistory();
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      const type = attrs?.activityType?.name;
      if (!attrs || (type !== 'inferAndScore' && type !== 'infer')) continue;
      const payload = attrs.input?.payloads?.[0]?.data;
      if (!payload) continue;
      const arg = JSON.parse(Buffer.from(payload).toString('utf8')) as { sample?: { sampleKey?: string } };
      if (arg.sample?.sampleKey) starts.set(arg.sample.sampleKey, millisOf(event));
    }
  }
  return starts;
}

/**
 * Samples run by a shard runner have no activity of their own: a sample starts when the runner takes it
 * from its prepared queue and calls the model, which its result records as `startedAt`.
 */
export async function runnerStarts(store: Store, assignmentId: string): Promise<Map<string, number>> {
  const keys = (await store.samples.find({ assignmentId }, { projection: { sampleKey: 1 } }).toArray()).map((d) => d.sampleKey);
  const starts = new Map<string, number>();
  for (const doc of await findByIds(store, store.results, keys, { startedAt: 1 })) {
    if (doc.startedAt) starts.set(doc._id, new Date(doc.startedAt).getTime());
  }
  return starts;
}

/** Per-sample timing from stored results against each sample's start. */
export interface SampleTiming {
  /** Samples with a stored result and a known start. */
  measured: number;
  overheadP50Ms: number;
  overheadP99Ms: number;
  /** Start to the model call (dispatch through the server, the activity's reads before the call), p50. */
  dispatchP50Ms: number;
  /** Model call answered to result stored (scoring and the result upsert), p50. */
  storeP50Ms: number;
  firstStart: number;
  lastFinish: number;
  /** Most model calls in flight at once, from each result's call start and latency. */
  inFlightPeak: number;
}

/** The most intervals open at once. */
function peakOf(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([a, b]): Array<[number, number]> => [[a, 1], [b, -1]]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (open += d));
  return peak;
}

/**
 * Orchestration overhead per sample: from the sample's start (its workflow start, or its activity being
 * scheduled in a shard) to its result stored in MongoDB, minus the provider's own latency.
 */
export async function sampleTiming(store: Store, starts: Map<string, number>): Promise<SampleTiming> {
  const docs = await findByIds(store, store.results, [...starts.keys()], { startedAt: 1, finishedAt: 1, latencyMs: 1 });
  const overheads: number[] = [];
  const dispatch: number[] = [];
  const storing: number[] = [];
  const calls: Array<[number, number]> = [];
  let firstStart = Infinity;
  let lastFinish = 0;
  for (const doc of docs) {
    const start = starts.get(doc._id);
    if (start === undefined || !doc.finishedAt) continue;
    const finish = new Date(doc.finishedAt).getTime();
    overheads.push(finish - start - (doc.latencyMs ?? 0));
    if (doc.startedAt) {
      const called = new Date(doc.startedAt).getTime();
      dispatch.push(called - start);
      storing.push(finish - called - (doc.latencyMs ?? 0));
      calls.push([called, called + (doc.latencyMs ?? 0)]);
    }
    firstStart = Math.min(firstStart, start);
    lastFinish = Math.max(lastFinish, finish);
  }
  for (const list of [overheads, dispatch, storing]) list.sort((a, b) => a - b);
  return {
    measured: overheads.length,
    overheadP50Ms: round(percentile(overheads, 0.5), 1),
    overheadP99Ms: round(percentile(overheads, 0.99), 1),
    dispatchP50Ms: round(percentile(dispatch, 0.5), 1),
    storeP50Ms: round(percentile(storing, 0.5), 1),
    firstStart,
    lastFinish,
    inFlightPeak: peakOf(calls),
  };
}

/** The q-quantile of sorted numbers (nearest rank); 0 for an empty list. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
