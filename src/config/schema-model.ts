import { z } from 'zod';

/**
 * Model config schemas: who answers a prompt and how. Secrets appear only as `${NAME}` references,
 * resolved by the provider at call time, so a config snapshot never holds a key.
 */

/** Ids of models and tasks: short, URL- and workflow-id-safe names. */
export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'must be a slug (letters, digits, ".", "_", "-"; at most 64 characters)');

/** A `${NAME}` reference to an environment variable on the worker; never a literal secret. */
export const EnvRefSchema = z
  .string()
  .regex(/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/, 'must be an environment reference like ${OPENAI_API_KEY}, not a literal secret');

/** A fixed latency or a distribution the simulated provider samples from, per sample key. */
export const LatencySchema = z.union([
  z.number().nonnegative().describe('Fixed latency in milliseconds.'),
  z.discriminatedUnion('distribution', [
    z
      .object({
        distribution: z.literal('uniform').describe('Uniform between min and max.'),
        min: z.number().nonnegative().describe('Lower bound in milliseconds.'),
        max: z.number().nonnegative().describe('Upper bound in milliseconds.'),
      })
      .strict(),
    z
      .object({
        distribution: z.literal('normal').describe('Normal, clipped at 0.'),
        mean: z.number().nonnegative().describe('Mean in milliseconds.'),
        stddev: z.number().nonnegative().describe('Standard deviation in milliseconds.'),
      })
      .strict(),
    z
      .object({
        distribution: z.literal('lognormal').describe('Log-normal: a long tail of slow calls, like real endpoints.'),
        median: z.number().positive().describe('Median in milliseconds.'),
        sigma: z.number().nonnegative().default(0.5).describe('Standard deviation of the underlying normal.'),
      })
      .strict(),
  ]),
]);

/**
 * Provider batch mode of an OpenAI-compatible endpoint (`POST /v1/files` + `POST /v1/batches`): a job's
 * requests that are not answered already go out as batch files instead of online calls, at about half the
 * price and minutes to hours of latency. Not part of the model's identity: a batch answer is reused online
 * and the other way round.
 */
export const ProviderBatchSchema = z
  .object({
    maxRequests: z
      .number().int().positive().max(50_000)
      .default(1_000)
      .describe('Requests per batch file: consecutive sample indexes of a job are grouped into batches of at most this many (OpenAI accepts up to 50,000).'),
    pollIntervalMs: z
      .number().int().min(100)
      .default(60_000)
      .describe('How often the job asks the endpoint for the state of its running batches (a workflow timer: no worker is held while waiting).'),
    maxWaitMs: z
      .number().int().positive()
      .default(26 * 3_600_000)
      .describe('Longest a batch may run before evalctl cancels it; its unanswered requests then count as expired. The provider\'s own completion window (24 h) usually ends a batch first.'),
    maxResubmits: z
      .number().int().min(0).max(10)
      .default(2)
      .describe('Times the unanswered requests of an expired batch are submitted again, as a new batch of just those; after that they fail.'),
    maxInFlight: z
      .number().int().positive().max(100)
      .default(4)
      .describe('Batches of one job submitted and not yet collected at once.'),
    completionWindow: z.literal('24h').default('24h').describe('The completion window asked of the endpoint (OpenAI accepts only 24h).'),
  })
  .strict();

/** Any OpenAI-compatible endpoint (OpenAI, vLLM, TGI, Ollama, llama.cpp server). */
export const OpenAIProviderSchema = z
  .object({
    kind: z.literal('openai').describe('An OpenAI-compatible HTTP endpoint.'),
    baseUrl: z.url().default('https://api.openai.com/v1').describe('Base URL of the API, ending in /v1 for most servers.'),
    apiKey: EnvRefSchema.optional().describe('API key as a ${NAME} reference, resolved on the worker at call time.'),
    model: z.string().min(1).describe('Model name the endpoint knows.'),
    api: z.enum(['chat', 'completions']).default('chat').describe('Chat completions or legacy text completions.'),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('Extra HTTP headers; values may contain ${NAME} references.'),
    batch: ProviderBatchSchema.optional().describe(
      'Send the requests as provider batches (the endpoint\'s /v1/batches API) instead of online calls; see docs/batch-api.md.',
    ),
  })
  .strict();

/** A local program: the request as JSON on stdin, `{text, usage?}` as JSON on stdout. */
export const CommandProviderSchema = z
  .object({
    kind: z.literal('command').describe('A local program speaking JSON on stdin/stdout.'),
    command: z.array(z.string().min(1)).min(1).describe('Program and arguments as an array; never run through a shell.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment; values may contain ${NAME} references.'),
    cwd: z.string().optional().describe('Working directory (absolute after loading).'),
  })
  .strict();

/** A stand-in model with configurable latency, errors and accuracy, for demos, tests and benchmarks. */
export const SimulatedProviderSchema = z
  .object({
    kind: z.literal('simulated').describe('A simulated model: no real inference happens.'),
    latencyMs: LatencySchema.default(0).describe('Latency per call: fixed or a distribution, seeded per sample key.'),
    errorRate: z.number().min(0).max(1).default(0).describe('Fraction of calls failing with a retryable error.'),
    rateLimitRate: z.number().min(0).max(1).default(0).describe('Fraction of calls answered like an HTTP 429 with Retry-After.'),
    retryAfterMs: z.number().int().nonnegative().default(1000).describe('Retry-After carried by simulated 429s.'),
    permanentErrorRate: z.number().min(0).max(1).default(0).describe('Fraction of samples that always fail permanently.'),
    accuracy: z.number().min(0).max(1).default(0.8).describe('Fraction of samples answered with the target.'),
    seed: z.number().int().default(0).describe('Seed for every random choice; same seed, same answers.'),
  })
  .strict();

/** Provider kinds accepted in `provider.kind`. */
export const PROVIDER_KINDS = ['openai', 'command', 'simulated'] as const;

/** The provider of a model, discriminated by `kind`. */
export const ProviderSchema = z
  .discriminatedUnion('kind', [OpenAIProviderSchema, CommandProviderSchema, SimulatedProviderSchema])
  .describe('How the model is called: openai, command or simulated.');

/** Generation parameters; part of the model's identity (a changed temperature is a new request). */
export const GenerationParamsSchema = z
  .object({
    temperature: z.number().min(0).max(2).optional().describe('Sampling temperature.'),
    maxTokens: z.number().int().positive().optional().describe('Maximum tokens to generate.'),
    topP: z.number().min(0).max(1).optional().describe('Nucleus sampling mass.'),
    stop: z.array(z.string()).optional().describe('Stop sequences.'),
    seed: z.number().int().optional().describe('Sampling seed passed to the endpoint.'),
    presencePenalty: z.number().min(-2).max(2).optional().describe('Presence penalty.'),
    frequencyPenalty: z.number().min(-2).max(2).optional().describe('Frequency penalty.'),
  })
  .strict();

/**
 * Concurrency that follows what the endpoint takes, shared by every worker that calls it (through one
 * MongoDB document per endpoint): a 429 or 503 cuts the limit by `decrease`, each full round of successful
 * calls adds `step`, always within [floor, ceiling]; a Retry-After holds every call to the endpoint until then.
 */
export const AdaptiveConcurrencySchema = z
  .object({
    floor: z.number().int().positive().default(1).describe('Fewest calls in flight the limit backs off to.'),
    ceiling: z.number().int().positive().describe('Most calls in flight the limit grows to, across every worker and assignment calling the endpoint.'),
    initial: z.number().int().positive().optional().describe('Limit when the endpoint is first seen; default the ceiling.'),
    step: z.number().int().positive().default(1).describe('Calls added to the limit after each round of successful calls (as many successes as the limit).'),
    decrease: z.number().gt(0).lt(1).default(0.5).describe('Factor the limit is multiplied by on a 429 or 503 (once per round: calls started before the last change do not cut it again).'),
    endpoint: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Name of the shared limit; models with the same name share one (one server behind several model ids). Default: the provider kind, base URL and model name (openai), the command line (command), or the model id (simulated).'),
  })
  .strict()
  .refine((a) => a.floor <= a.ceiling, 'floor must not be above ceiling')
  .refine((a) => a.initial === undefined || (a.initial >= a.floor && a.initial <= a.ceiling), 'initial must be between floor and ceiling')
  .describe('Adaptive concurrency shared across workers (off unless set).');

/** A model to evaluate: its provider, generation parameters and operational limits. */
export const ModelConfigSchema = z
  .object({
    id: SlugSchema.describe('Unique id of the model within an assignment.'),
    description: z.string().optional().describe('Free text for people.'),
    provider: ProviderSchema,
    version: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Your label for what answers behind this model: a checkpoint, a release, a date. Part of the model\'s identity: change it when the weights behind the same endpoint, path or ${NAME} value change, so earlier answers are not reused.',
      ),
    params: GenerationParamsSchema.default({}).describe('Generation parameters.'),
    concurrency: z.number().int().positive().default(8).describe('Maximum calls in flight to this model.'),
    adaptiveConcurrency: AdaptiveConcurrencySchema.optional(),
    rateLimit: z
      .object({
        requestsPerSecond: z.number().positive().describe('Requests per second across every worker.'),
      })
      .strict()
      .optional()
      .describe('Rate limit shared by every worker of this model.'),
    resources: z
      .object({
        gpus: z.number().int().nonnegative().default(0).describe('GPUs one call needs.'),
        gpuType: SlugSchema.optional().describe('GPU tag, for instance a100; picks the inference queue.'),
      })
      .strict()
      .default({ gpus: 0 })
      .describe('Devices a call needs.'),
    timeoutMs: z.number().int().positive().default(120_000).describe('Timeout of one call in milliseconds.'),
    pricing: z
      .object({
        inputPer1k: z.number().nonnegative().default(0).describe('Price per 1,000 input tokens.'),
        outputPer1k: z.number().nonnegative().default(0).describe('Price per 1,000 output tokens.'),
      })
      .strict()
      .default({ inputPer1k: 0, outputPer1k: 0 })
      .describe('Token prices, for cost accounting.'),
  })
  .strict()
  .describe('A model under evaluation.');

/** A model config after defaults are applied. */
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
/** The provider part of a model config. */
export type ProviderConfig = z.infer<typeof ProviderSchema>;
/** Options of an OpenAI-compatible provider. */
export type OpenAIProviderConfig = z.infer<typeof OpenAIProviderSchema>;
/** Provider batch mode settings after defaults. */
export type ProviderBatchConfig = z.infer<typeof ProviderBatchSchema>;
/** Options of a command provider. */
export type CommandProviderConfig = z.infer<typeof CommandProviderSchema>;
/** Options of the simulated provider. */
export type SimulatedProviderConfig = z.infer<typeof SimulatedProviderSchema>;
/** Generation parameters. */
export type GenerationParams = z.infer<typeof GenerationParamsSchema>;
/** Adaptive concurrency settings after defaults. */
export type AdaptiveConcurrencyConfig = z.infer<typeof AdaptiveConcurrencySchema>;
/** Latency of the simulated provider. */
export type LatencyConfig = z.infer<typeof LatencySchema>;
