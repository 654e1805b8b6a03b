import { createScorer, type Score, type Scorer } from '../src/scorers';
import type { ModelConfig, ScorerConfig, TaskConfig } from '../src/config/schema';
import { ErrorTypes, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import type { ResultDoc } from '../src/store/documents';
import { BuiltCache, type ActivityDeps, type ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { withHeartbeat } from './heartbeat';
import type { Inferred } from './infer';
import { promptContent, storeResults, storeSuccess } from './records';
import { costOf } from '../src/metrics';
import { sampleFor, type KeyedSample } from '../src/plan/samples';

/** Input of a score-and-store step. */
export interface ScoreInput {
  sample: SampleWorkflowInput;
  inferred: Inferred | null;
  waiters: SampleWaiter[];
}

/** Builds the scoring activity: score a prediction and store the result, in one step. */
export function scoreActivities(deps: ActivityDeps, configs: ConfigCache) {
  return { scoreAndStore: createScoreAndStore(deps, configs) };
}

/**
 * Scores the prediction of this execution (or of the stored result it was planned with) and upserts the
 * result by sample key, with the waiters' sample records. Shared by the scoring queue's activity and the
 * inference queue's one-step path for scorers that need no service of their own.
 */
export function createScoreAndStore(deps: ActivityDeps, configs: ConfigCache): (input: ScoreInput, read?: KeyedSample) => Promise<SampleOutcome> {
  const scorers = new BuiltCache<Scorer>();
  const scorerFor = (key: string, config: ScorerConfig): Scorer => scorers.get(key, () => createScorer(config));

  /** `read`: the sample as a caller in this process has just read and checked it (not an activity argument). */
  return async function scoreAndStore(input: ScoreInput, read?: KeyedSample): Promise<SampleOutcome> {
    const { sample } = input;
    const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
    // Agent tasks are scored by storeEpisode (activities/agent.ts), never here.
    if (task.kind === 'agent') throw permanent(`task ${task.id} is an agent task: its episodes are stored by storeEpisode`, ErrorTypes.ConfigInvalid);
    const keyed = read ?? (await sampleFor(model, task, sample.index, sample.sampleKey));
    const inferred = input.inferred ?? (await storedPrediction(deps, sample.predictionFrom ?? null));
    if (sample.mode === 'infer') return storeInferred(deps, input.sample, input.waiters, inferred, keyed, model, task);
    let score;
    try {
      score = await withHeartbeat((signal) =>
        scorerFor(`${sample.assignmentId}/${sample.taskId}`, task.scorer).score(
          { prediction: inferred.prediction, target: keyed.sample.target, sample: keyed.sample },
          { signal, env: deps.env },
        ),
      );
    } catch (err) {
      throw toFailure(err);
    }
    const doc = resultDocOf(sample, keyed, inferred, model, score, task);
    const outcome = await storeSuccess(deps, sample, input.waiters, doc, score);
    deps.debug?.({ assignmentId: sample.assignmentId, jobId: sample.jobId, index: sample.index, prompt: inferred.input, prediction: inferred.prediction, target: keyed.sample.target, score: score.value });
    return outcome;
  };
}

/**
 * The stored result of one sample's execution: scored (`succeeded`) or, with no score, `inferred`. The chat
 * messages are rendered again here from the task and the sample (what the model call sent), so they never
 * travel through workflow history.
 */
export function resultDocOf(
  sample: SampleWorkflowInput, keyed: KeyedSample, inferred: Inferred, model: ModelConfig, score: Score | null, task: TaskConfig,
): Omit<ResultDoc, '_id' | 'assignments'> {
  const now = new Date();
  const { messages } = promptContent(task, keyed.sample);
  return {
    inferenceKey: sample.inferenceKey, status: score ? 'succeeded' : 'inferred', modelId: sample.modelId, taskId: sample.taskId,
    sampleId: keyed.sample.id, sampleIndex: sample.index, ...(keyed.sample.epoch ? { epoch: keyed.sample.epoch } : {}), input: inferred.input, ...(messages ? { messages } : {}), prediction: inferred.prediction,
    target: keyed.sample.target ?? null, score, error: null, errorType: null, attempts: inferred.attempts,
    latencyMs: inferred.latencyMs, usage: inferred.usage, cost: costOf(inferred.usage, model.pricing), worker: inferred.worker,
    startedAt: new Date(inferred.startedAt), finishedAt: now, updatedAt: now,
  };
}

/** The prediction of the stored result this sample was planned with (eval mode, --reuse). */
export async function storedPrediction(deps: ActivityDeps, resultId: string | null): Promise<Inferred> {
  const doc = resultId ? await deps.store.results.findOne({ _id: resultId }) : null;
  if (!doc || typeof doc.prediction !== 'string') {
    throw permanent('no stored prediction for this request: run the infer stage (or a full run) first', ErrorTypes.NotFound);
  }
  return {
    prediction: doc.prediction, input: doc.input, usage: doc.usage ?? { inputTokens: 0, outputTokens: 0 }, latencyMs: doc.latencyMs ?? 0,
    attempts: 0, worker: doc.worker ?? '', startedAt: (doc.startedAt ?? doc.finishedAt).toISOString(),
  };
}

/** The infer stage alone: the prediction is stored unscored (`inferred`), for a later eval stage. */
async function storeInferred(
  deps: ActivityDeps, sample: SampleWorkflowInput, waiters: SampleWaiter[], inferred: Inferred, keyed: KeyedSample, model: ModelConfig, task: TaskConfig,
): Promise<SampleOutcome> {
  await storeResults(deps, [{ sample, waiters, doc: resultDocOf(sample, keyed, inferred, model, null, task), score: null }]);
  return { index: sample.index, sampleKey: sample.sampleKey, status: 'succeeded' };
}
