import type { SampleStatus } from '../contracts';
import type { ResultDoc, SampleDoc } from '../store/documents';

/** One sample of one job as `report --details` and the export's predictions files show it. */
export interface DetailRow {
  modelId: string;
  taskId: string;
  index: number;
  sampleId: string | null;
  /** Epoch (1-based) of a task with epochs; null without epochs. */
  epoch: number | null;
  sampleKey: string;
  status: SampleStatus;
  input: string | null;
  prediction: string | null;
  target: unknown;
  score: number | null;
  passed: boolean | null;
  error: string | null;
  /** The failure's error type (EvalProviderPermanent, ...), null for a success. */
  errorType: string | null;
  /** Attempts the stored result took (model calls, or episode starts). */
  attempts: number | null;
  latencyMs: number | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  cost: number | null;
}

/** The fields of a result document that details need. */
export type DetailResult = Pick<ResultDoc, '_id' | 'sampleId' | 'epoch' | 'input' | 'prediction' | 'target' | 'score' | 'error' | 'errorType' | 'attempts' | 'latencyMs' | 'usage' | 'cost'>;

/** Projection that loads exactly the fields of DetailResult. */
export const DETAIL_RESULT_PROJECTION = {
  sampleId: 1, epoch: 1, input: 1, prediction: 1, target: 1, score: 1, error: 1, errorType: 1, attempts: 1, latencyMs: 1, usage: 1, cost: 1,
} as const;

/**
 * Joins a sample outcome with the stored result of its key. The sample's own status wins: a result that
 * later succeeded for another assignment does not rewrite how this assignment's sample ended.
 */
export function detailRow(
  sample: Pick<SampleDoc, 'modelId' | 'taskId' | 'index' | 'sampleKey' | 'status'> & { epoch?: number }, result: DetailResult | undefined,
): DetailRow {
  return {
    modelId: sample.modelId,
    taskId: sample.taskId,
    index: sample.index,
    sampleId: result?.sampleId ?? null,
    // The record's epoch first: epoch 1 shares its result with runs without epochs, which store none.
    epoch: sample.epoch ?? result?.epoch ?? null,
    sampleKey: sample.sampleKey,
    status: sample.status,
    input: result?.input ?? null,
    prediction: result?.prediction ?? null,
    target: result?.target ?? null,
    score: result?.score?.value ?? null,
    passed: typeof result?.score?.passed === 'boolean' ? result.score.passed : null,
    error: result?.error ?? null,
    errorType: result?.errorType ?? null,
    attempts: typeof result?.attempts === 'number' ? result.attempts : null,
    latencyMs: result?.latencyMs ?? null,
    usage: result?.usage ?? null,
    cost: result?.cost ?? null,
  };
}

/** Column order of details in CSV and text tables. */
export const DETAIL_COLUMNS = ['model', 'task', 'index', 'sampleId', 'epoch', 'status', 'score', 'passed', 'input', 'prediction', 'target', 'error', 'errorType', 'attempts', 'latencyMs'] as const;

/** A details row as strings, in DETAIL_COLUMNS order. */
export function detailCells(row: DetailRow): string[] {
  const str = (x: unknown): string => (x === null || x === undefined ? '' : typeof x === 'string' ? x : JSON.stringify(x));
  return [
    row.modelId, row.taskId, String(row.index), str(row.sampleId), str(row.epoch), row.status, str(row.score), str(row.passed),
    str(row.input), str(row.prediction), str(row.target), str(row.error), str(row.errorType), str(row.attempts), str(row.latencyMs),
  ];
}
