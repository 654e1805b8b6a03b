import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { GenerationParams, ModelConfig, OpenAIProviderConfig } from '../config/schema';
import { resolveEnvRefs } from '../config/env-refs';
import { abortedError, isRetryableStatus, parseRetryAfter, ProviderError } from './errors';
import type { InferenceRequest, Prediction, Provider, ProviderContext } from './types';

/**
 * Any OpenAI-compatible endpoint through the official client. The client never retries (maxRetries 0):
 * Temporal owns retries, and a ProviderError tells it whether to and how long to wait (Retry-After).
 */
export class OpenAIProvider implements Provider {
  private readonly provider: OpenAIProviderConfig;
  private readonly clients = new Map<string, OpenAI>();

  constructor(private readonly model: ModelConfig) {
    if (model.provider.kind !== 'openai') throw new Error(`model ${model.id} is not an openai model`);
    this.provider = model.provider;
  }

  /** One chat or completions call; the key is resolved from ctx.env now, never earlier. */
  async infer(req: InferenceRequest, ctx: ProviderContext): Promise<Prediction> {
    const client = this.clientFor(ctx.env);
    const started = Date.now();
    const options = { signal: ctx.signal, timeout: this.model.timeoutMs };
    try {
      if (this.provider.api === 'completions') {
        const res = await client.completions.create({ model: this.provider.model, prompt: req.prompt, stream: false, ...wireParams(req.params) }, options);
        return {
          text: res.choices[0]?.text ?? '',
          usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
          latencyMs: Date.now() - started,
          model: res.model,
        };
      }
      const res = await client.chat.completions.create({ model: this.provider.model, messages: req.messages, stream: false, ...wireParams(req.params) }, options);
      return {
        text: res.choices[0]?.message?.content ?? '',
        usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
        latencyMs: Date.now() - started,
        model: res.model,
      };
    } catch (err) {
      throw toProviderError(err, `model ${this.model.id} (${this.provider.baseUrl})`, ctx.signal);
    }
  }

  private clientFor(env: NodeJS.ProcessEnv): OpenAI {
    const apiKey = this.provider.apiKey === undefined ? 'not-needed' : resolveEnvRefs(this.provider.apiKey, env);
    const headers = resolveEnvRefs(this.provider.headers ?? {}, env);
    const cacheKey = JSON.stringify([apiKey, headers]);
    let client = this.clients.get(cacheKey);
    if (!client) {
      client = new OpenAI({ baseURL: this.provider.baseUrl, apiKey, maxRetries: 0, timeout: this.model.timeoutMs, defaultHeaders: headers });
      if (this.clients.size > 8) this.clients.clear();
      this.clients.set(cacheKey, client);
    }
    return client;
  }
}

/** Generation parameters in the endpoint's spelling; unset ones are left out. */
export function wireParams(p: GenerationParams): Record<string, unknown> {
  const out: Record<string, unknown> = {
    temperature: p.temperature,
    max_tokens: p.maxTokens,
    top_p: p.topP,
    stop: p.stop,
    seed: p.seed,
    presence_penalty: p.presencePenalty,
    frequency_penalty: p.frequencyPenalty,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** Maps the client's errors onto retryable or permanent ProviderErrors, keeping the endpoint's message. */
export function toProviderError(err: unknown, what: string, signal?: AbortSignal): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIUserAbortError || signal?.aborted) return abortedError(what);
  if (err instanceof APIConnectionTimeoutError) return new ProviderError(`${what}: request timed out`, { retryable: true, cause: err });
  if (err instanceof APIConnectionError) return new ProviderError(`${what}: connection failed: ${err.message}`, { retryable: true, cause: err });
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryable = isRetryableStatus(err.status);
    const retryAfterMs = retryable ? parseRetryAfter(err.headers) : undefined;
    return new ProviderError(`${what}: ${endpointMessage(err, err.status)}`, { retryable, status: err.status, retryAfterMs, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(`${what}: ${message}`, { retryable: true, cause: err });
}

/**
 * The endpoint's own words for an HTTP error: `HTTP 400 (exceed_context_size_error): request (1042 tokens)
 * exceeds ...`. The client prefixes its message with the status, which is said once here, and the error's
 * `type` (or string `code`) is kept, since servers put the kind of failure there.
 */
function endpointMessage(err: APIError, status: number): string {
  const prefix = `${status} `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  const kind = typeof err.type === 'string' && err.type ? err.type : typeof err.code === 'string' && err.code ? err.code : undefined;
  return `HTTP ${status}${kind ? ` (${kind})` : ''}: ${message}`;
}
