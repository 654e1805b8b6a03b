import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { ModelConfig, OpenAIProviderConfig } from '../config/schema';
import { resolveEnvRefs } from '../config/env-refs';
import { BATCH_KEY_METADATA, type BatchRequestCounts, type RemoteBatchStatus } from '../contracts';
import type { ChatMessage } from './types';
import { toProviderError, wireParams } from './openai';

/**
 * The batch endpoints of an OpenAI-compatible server (`/v1/files`, `/v1/batches`), as evalctl's provider
 * batch path uses them: upload a JSONL of requests, create a batch, find it again by the key in its
 * metadata, poll it, download its output and error files, cancel it. Shapes are openai-node's
 * (resources/batches.d.ts, resources/files.d.ts). The key is resolved from the worker's environment per
 * client and never leaves this process.
 */

/** One line of a batch input file (OpenAI's "batch request input"). */
export interface BatchRequestLine {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions' | '/v1/completions';
  body: Record<string, unknown>;
}

/** How one request of a collected batch ended. */
export type BatchAnswer =
  | { kind: 'answered'; text: string; usage: { inputTokens: number; outputTokens: number } }
  | { kind: 'failed'; error: string }
  /** Not run: the batch expired or was cancelled before it got to it. */
  | { kind: 'unanswered'; error: string };

/** A remote batch as evalctl needs it. */
export interface RemoteBatch {
  id: string;
  status: RemoteBatchStatus;
  counts: BatchRequestCounts;
  outputFileId: string | null;
  errorFileId: string | null;
  createdAt: number;
  endedAt: number | null;
  /** The batch's own errors (a batch that failed validation), joined. */
  errors: string | null;
}

/** Error codes of error-file lines for requests a batch never ran (OpenAI: expired or cancelled batches). */
const NOT_RUN_CODES: ReadonlySet<string> = new Set(['batch_expired', 'batch_cancelled', 'batch_canceled']);

/** The request line of one sample: the same body an online call of this model sends. */
export function requestLine(model: ModelConfig, customId: string, rendered: { messages: ChatMessage[]; prompt: string }): BatchRequestLine {
  const provider = openaiOf(model);
  const params = wireParams(model.params);
  if (provider.api === 'completions') {
    return { custom_id: customId, method: 'POST', url: '/v1/completions', body: { model: provider.model, prompt: rendered.prompt, ...params } };
  }
  return { custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: provider.model, messages: rendered.messages, ...params } };
}

/** Parses output and error files (JSONL, one line per request) into answers by custom_id. */
export function parseBatchFiles(output: string, errors: string): Map<string, BatchAnswer> {
  const answers = new Map<string, BatchAnswer>();
  for (const text of [errors, output]) {
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let line: { custom_id?: unknown; response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null };
      try {
        line = JSON.parse(raw) as typeof line;
      } catch {
        continue;
      }
      if (typeof line.custom_id !== 'string') continue;
      answers.set(line.custom_id, answerOf(line));
    }
  }
  return answers;
}

function answerOf(line: { response?: { status_code?: unknown; body?: unknown } | null; error?: { code?: unknown; message?: unknown } | null }): BatchAnswer {
  if (line.error) {
    const code = typeof line.error.code === 'string' ? line.error.code : '';
    const message = `${code ? `${code}: ` : ''}${typeof line.error.message === 'string' ? line.error.message : 'request failed'}`;
    return NOT_RUN_CODES.has(code) ? { kind: 'unanswered', error: message } : { kind: 'failed', error: message };
  }
  const status = typeof line.response?.status_code === 'number' ? line.response.status_code : 0;
  const body = (line.response?.body ?? {}) as {
    choices?: Array<{ text?: string; message?: { content?: string | null } }>;
    usage?: { prompt_tokens?: number; completion_tokens?: number };
    error?: { message?: string; type?: string; code?: string };
  };
  if (status !== 200) {
    const kind = body.error?.type ?? body.error?.code;
    return { kind: 'failed', error: `HTTP ${status}${kind ? ` (${kind})` : ''}: ${body.error?.message ?? 'request failed'}` };
  }
  const choice = body.choices?.[0];
  return {
    kind: 'answered',
    text: choice?.message?.content ?? choice?.text ?? '',
    usage: { inputTokens: body.usage?.prompt_tokens ?? 0, outputTokens: body.usage?.completion_tokens ?? 0 },
  };
}

/** A client of one model's batch endpoints, with the key resolved from `env` (the worker's). */
export class BatchClient {
  private readonly client: OpenAI;
  private readonly what: string;

  constructor(private readonly model: ModelConfig, env: NodeJS.ProcessEnv) {
    const provider = openaiOf(model);
    const apiKey = provider.apiKey === undefined ? 'not-needed' : resolveEnvRefs(provider.apiKey, env);
    this.client = new OpenAI({ baseURL: provider.baseUrl, apiKey, maxRetries: 0, timeout: 120_000, defaultHeaders: resolveEnvRefs(provider.headers ?? {}, env) });
    this.what = `model ${model.id} batches (${provider.baseUrl})`;
  }

  /** The batch whose metadata carries `key`, among those created since `since` (seconds); newest first, paged. */
  async findBatch(key: string, since: number): Promise<RemoteBatch | undefined> {
    return this.call(async () => {
      for await (const batch of this.client.batches.list({ limit: 100 })) {
        if (batch.metadata?.[BATCH_KEY_METADATA] === key) return remoteOf(batch);
        if (batch.created_at < since) return undefined;
      }
      return undefined;
    });
  }

  /** The uploaded batch file named `filename`, if an earlier attempt uploaded it. */
  async findFile(filename: string): Promise<string | undefined> {
    return this.call(async () => {
      for await (const file of this.client.files.list({ purpose: 'batch', limit: 1000 })) if (file.filename === filename) return file.id;
      return undefined;
    });
  }

  /** Uploads a JSONL of request lines with purpose `batch`; the file's id. */
  async upload(filename: string, lines: BatchRequestLine[]): Promise<string> {
    const body = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return this.call(async () => (await this.client.files.create({ file: await toFile(body, filename), purpose: 'batch' })).id);
  }

  /** Creates the batch of an uploaded file, its key in the metadata. */
  async create(fileId: string, endpoint: BatchRequestLine['url'], key: string, labels: Record<string, string>): Promise<RemoteBatch> {
    return this.call(async () => remoteOf(await this.client.batches.create({
      input_file_id: fileId, endpoint, completion_window: '24h', metadata: { ...labels, [BATCH_KEY_METADATA]: key },
    })));
  }

  async retrieve(id: string): Promise<RemoteBatch> {
    return this.call(async () => remoteOf(await this.client.batches.retrieve(id)));
  }

  async cancel(id: string): Promise<RemoteBatch> {
    return this.call(async () => remoteOf(await this.client.batches.cancel(id)));
  }

  /** A file's whole content as text ('' for no file). */
  async content(fileId: string | null): Promise<string> {
    if (!fileId) return '';
    return this.call(async () => (await this.client.files.content(fileId)).text());
  }

  /** The endpoint the model's requests go to. */
  endpoint(): BatchRequestLine['url'] {
    return openaiOf(this.model).api === 'completions' ? '/v1/completions' : '/v1/chat/completions';
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toProviderError(err, this.what);
    }
  }
}

function openaiOf(model: ModelConfig): OpenAIProviderConfig {
  if (model.provider.kind !== 'openai') throw new Error(`model ${model.id} is not an openai model: it has no batch endpoints`);
  return model.provider;
}

function remoteOf(b: Batch): RemoteBatch {
  const ended = b.completed_at ?? b.failed_at ?? b.expired_at ?? b.cancelled_at ?? null;
  const errors = b.errors?.data?.map((e) => `${e.code ?? 'error'}${e.line != null ? ` (line ${e.line})` : ''}: ${e.message ?? ''}`).join('; ') || null;
  return {
    id: b.id, status: b.status, counts: b.request_counts ?? { total: 0, completed: 0, failed: 0 },
    outputFileId: b.output_file_id ?? null, errorFileId: b.error_file_id ?? null, createdAt: b.created_at, endedAt: ended, errors,
  };
}
