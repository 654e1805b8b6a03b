import { Context } from '@temporalio/activity';
import { createScorer, type Scorer } from '../src/scorers';
import type { ScorerConfig } from '../src/config/schema';
import { ErrorTypes, type SampleOutcome, type SampleWaiter, type SampleWorkflowInput } from '../src/contracts';
import type { ResultDoc } from '../src/store/documents';
import type { ActivityDeps, ConfigCache } from './deps';
import { permanent, toFailure } from './failures';
import { withHeartbeat } from './heartbeat';
import type { Inferred } from './infer';
import { recordSampleDocs, waiterRecords } from './records';
import { sampleFor } from './samples';

/** Builds the scoring activity: score a prediction and store the result, in one step. */
export function scoreActivities(deps: ActivityDeps, configs: ConfigCache) {
  const scorers = new Map<string, Scorer>();
  const scorerFor = (key: string, config: ScorerConfig): Scorer => {
    let scorer = scorers.get(key);
    if (!scorer) {
      scorer = createScorer(config);
      if (scorers.size > 256) scorers.clear();
      scorers.set(key, scorer);
    }
    return scorer;
  };

  return {
    /**
     * Scores the prediction of this execution (or, in eval mode, the latest stored prediction of the same
     * request) and upserts the result by sample key, with the waiters' sample records.
     */
    async scoreAndStore(input: { sample: SampleWorkflowInput; inferred: Inferred | null; waiters: SampleWaiter[] }): Promise<SampleOutcome> {
      const { sample } = input;
      const [model, task] = await Promise.all([configs.model(sample.assignmentId, sample.modelId), configs.task(sample.assignmentId, sample.taskId)]);
      const keyed = await sampleFor(model, task, sample.index, sample.sampleKey);
      const inferred = input.inferred ?? (await storedPrediction(deps, sample.inferenceKey));
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
      const cost = (inferred.usage.inputTokens / 1000) * model.pricing.inputPer1k + (inferred.usage.outputTokens / 1000) * model.pricing.outputPer1k;
      const now = new Date();
      const doc: Omit<ResultDoc, '_id' | 'assignments'> = {
        inferenceKey: sample.inferenceKey, status: 'succeeded', modelId: sample.modelId, taskId: sample.taskId,
        sampleId: keyed.sample.id, sampleIndex: sample.index, input: inferred.input, prediction: inferred.prediction,
        target: keyed.sample.target ?? null, score, error: null, errorType: null, attempts: inferred.attempts,
        latencyMs: inferred.latencyMs, usage: inferred.usage, cost, worker: inferred.worker,
        startedAt: new Date(inferred.startedAt), finishedAt: now, updatedAt: now,
      };
      await deps.store.results.updateOne(
        { _id: sample.sampleKey },
        { $set: doc, $addToSet: { assignments: { $each: [...new Set(input.waiters.map((w) => w.assignmentId))] } } },
        { upsert: true },
      );
      Context.current().heartbeat();
      await recordSampleDocs(deps, waiterRecords(sample, input.waiters, 'succeeded', score.value, score.passed ?? null));
      return { index: sample.index, sampleKey: sample.sampleKey, status: 'succeeded', score: score.value };
    },
  };
}

/** The latest successful prediction for an inference key, for scoring without a model call. */
async function storedPrediction(deps: ActivityDeps, inferenceKey: string): Promise<Inferred> {
  const doc = await deps.store.results.findOne(
    { inferenceKey, prediction: { $type: 'string' } },
    { sort: { finishedAt: -1 } },
  );
  if (!doc || typeof doc.prediction !== 'string') {
    throw permanent(`no stored prediction for inference key ${inferenceKey}; run the infer stage first`, ErrorTypes.NotFound);
  }
  return {
    prediction: doc.prediction, input: doc.input, usage: doc.usage ?? { inputTokens: 0, outputTokens: 0 }, latencyMs: doc.latencyMs ?? 0,
    attempts: 0, worker: doc.worker ?? '', startedAt: (doc.startedAt ?? doc.finishedAt).toISOString(),
  };
}
