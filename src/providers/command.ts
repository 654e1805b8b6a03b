import type { CommandProviderConfig, ModelConfig } from '../config/schema';
import { resolveEnvRefs } from '../config/env-refs';
import { ProviderError } from './errors';
import { runCommand } from './run-command';
import type { InferenceRequest, Prediction, Provider, ProviderContext } from './types';

/**
 * A local program as a model. Protocol: the request as one JSON object on stdin
 * ({sampleKey, model, messages, prompt, params}); on stdout one JSON object {text, usage?: {inputTokens,
 * outputTokens}}; exit 0. Exit code 2 means "this request can never work" (permanent); other failures retry.
 */
export class CommandProvider implements Provider {
  private readonly provider: CommandProviderConfig;

  constructor(private readonly model: ModelConfig) {
    if (model.provider.kind !== 'command') throw new Error(`model ${model.id} is not a command model`);
    this.provider = model.provider;
  }

  /** Runs the program once for the request; CUDA_VISIBLE_DEVICES and the like come in ctx.extraEnv. */
  async infer(req: InferenceRequest, ctx: ProviderContext): Promise<Prediction> {
    const started = Date.now();
    const env = { ...ctx.env, ...resolveEnvRefs(this.provider.env, ctx.env), ...(ctx.extraEnv ?? {}) };
    const what = `command model ${this.model.id}`;
    const stdout = await runCommand({
      argv: this.provider.command,
      input: JSON.stringify({ sampleKey: req.sampleKey, model: this.model.id, messages: req.messages, prompt: req.prompt, params: req.params }),
      env,
      cwd: this.provider.cwd,
      timeoutMs: this.model.timeoutMs,
      signal: ctx.signal,
      what,
    });
    return { ...parseOutput(stdout, what, req), latencyMs: Date.now() - started };
  }
}

function parseOutput(stdout: string, what: string, req: InferenceRequest): Omit<Prediction, 'latencyMs'> {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw new ProviderError(`${what} did not print JSON on stdout: ${JSON.stringify(stdout.slice(0, 200))}`, { retryable: false });
  }
  const out = value as { text?: unknown; usage?: { inputTokens?: unknown; outputTokens?: unknown }; model?: unknown };
  if (typeof out?.text !== 'string') throw new ProviderError(`${what} printed JSON without a string "text"`, { retryable: false });
  const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  return {
    text: out.text,
    usage: {
      inputTokens: num(out.usage?.inputTokens, Math.ceil(req.prompt.length / 4)),
      outputTokens: num(out.usage?.outputTokens, Math.ceil(out.text.length / 4)),
    },
    ...(typeof out.model === 'string' ? { model: out.model } : {}),
  };
}
