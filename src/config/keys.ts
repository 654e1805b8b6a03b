import { canonicalJson, sha256Hex } from './canonical';
import type { ModelConfig, ProviderConfig, ScorerConfig, TaskConfig } from './schema';

/**
 * Sample keys: a hash of what a request means, so the same question to the same model with the same
 * settings has the same key in every assignment (the dedup rule of DESIGN.md). Secrets, limits, ids and
 * prices are left out on purpose: changing them does not change an answer. What a `${NAME}` reference
 * resolves to on a worker cannot be part of it: a model's `version` says when that changes.
 */

/** `${NAME}` references in a value, which stand for whatever the worker's environment holds. */
const ENV_REF = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/g;

/** A value as identity sees it: every `${NAME}` reference alike (a renamed secret is the same model), the rest as written. */
function withoutRefNames(value: string): string {
  return value.replace(ENV_REF, '${}');
}

/** Version of the key recipe; bump it when the recipe changes so old results are not reused by mistake. */
export const KEY_VERSION = 1;

/** The part of a provider config that decides what answer comes back. */
function providerIdentity(provider: ProviderConfig): Record<string, unknown> {
  switch (provider.kind) {
    case 'openai':
      // apiKey and headers are credentials or routing, not meaning.
      return { kind: provider.kind, baseUrl: provider.baseUrl.replace(/\/+$/, ''), model: provider.model, api: provider.api };
    case 'command':
      // The argv names the program; env and cwd choose what it loads (a checkpoint path, a config), so
      // they are identity too. Only when non-empty, so keys of configs without them stay as they were.
      return {
        kind: provider.kind,
        command: provider.command,
        env: Object.keys(provider.env ?? {}).length > 0 ? Object.fromEntries(Object.entries(provider.env).map(([k, v]) => [k, withoutRefNames(v)])) : undefined,
        cwd: provider.cwd,
      };
    case 'simulated':
      return {
        kind: provider.kind,
        latencyMs: provider.latencyMs,
        errorRate: provider.errorRate,
        rateLimitRate: provider.rateLimitRate,
        permanentErrorRate: provider.permanentErrorRate,
        accuracy: provider.accuracy,
        seed: provider.seed,
      };
  }
}

/** Model identity: provider identity, generation parameters and the user's `version` label (when set). */
export function modelIdentity(model: Pick<ModelConfig, 'provider' | 'params'> & { version?: string }): Record<string, unknown> {
  return { provider: providerIdentity(model.provider), params: model.params ?? {}, version: model.version };
}

/** Task identity for inference: the prompt template and the few-shot examples. */
export function taskIdentity(task: Pick<TaskConfig, 'prompt' | 'fewShot'>): Record<string, unknown> {
  return { prompt: task.prompt, fewShot: task.fewShot ?? [] };
}

/** The sample content that reaches the prompt and the scorer. */
export interface SampleContent {
  fields: Record<string, unknown>;
  target?: unknown;
  /** Epoch of a task with epochs: part of the key from epoch 2 on, so epoch 1 keeps the key of a run without epochs. */
  epoch?: number;
}

/** Key of one inference request: sha256 hex of canonical {model identity, task identity, sample content}. */
export function inferenceKey(
  model: Pick<ModelConfig, 'provider' | 'params'> & { version?: string },
  task: Pick<TaskConfig, 'prompt' | 'fewShot'>,
  sample: SampleContent,
): string {
  return sha256Hex(
    canonicalJson({
      v: KEY_VERSION,
      model: modelIdentity(model),
      task: taskIdentity(task),
      sample: { fields: sample.fields, target: sample.target, epoch: sample.epoch !== undefined && sample.epoch > 1 ? sample.epoch : undefined },
    }),
  );
}

/** Scorer identity: its config, with a judge model reduced to its identity. */
export function scorerIdentity(scorer: ScorerConfig): unknown {
  if (scorer.kind === 'judge' && typeof scorer.model !== 'string') {
    return { ...scorer, model: modelIdentity(scorer.model) };
  }
  if (scorer.kind === 'command') return { ...scorer, env: undefined };
  return scorer;
}

/** Key of one scored sample: the inference key plus the canonical scorer config. */
export function sampleKey(inferenceKeyHex: string, scorer: ScorerConfig | undefined): string {
  // An agent task without a scorer is judged by its environment, which the inference key already names.
  return sha256Hex(canonicalJson({ v: KEY_VERSION, inference: inferenceKeyHex, scorer: scorer ? scorerIdentity(scorer) : null }));
}

/**
 * What makes scores of a task comparable, for leaderboards: the samples as used (content, field mapping,
 * shuffle, limit: the dataset's view hash), the prompt and few-shot examples, and the scorer. A smoke run
 * with `limit: 2`, another scorer or an edited dataset is another board.
 */
export function comparableTaskKey(task: Pick<TaskConfig, 'prompt' | 'fewShot' | 'scorer'> & { epochs?: number; reducer?: string }, datasetViewHash: string): string {
  // Epochs and their reducer change what a score means (pass@5 is not pass@1); absent for one epoch, so older keys stand.
  const epochs = task.epochs !== undefined && task.epochs > 1 ? { epochs: task.epochs, reducer: task.reducer ?? 'mean' } : undefined;
  return sha256Hex(canonicalJson({ v: KEY_VERSION, dataset: datasetViewHash, task: taskIdentity(task), scorer: task.scorer ? scorerIdentity(task.scorer) : null, epochs }));
}
