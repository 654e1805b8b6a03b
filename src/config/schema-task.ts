import { z } from 'zod';
import { ModelConfigSchema, SlugSchema } from './schema-model';
import { AgentTaskConfigSchema } from './schema-agent';
import { EpochsSchema, ReducerSchema } from './schema-epochs';

/** Task config schemas: what is asked (dataset, prompt) and how answers are judged (scorer). */

/** Where samples come from: a file (JSONL, CSV, JSON array) or samples written inline. */
export const DatasetConfigSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .optional()
      .describe('Dataset file, or a local Hugging Face dataset folder (format hf); relative paths are resolved against the config file that names them.'),
    samples: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('Inline samples, for small tasks written directly in the config.'),
    format: z
      .enum(['jsonl', 'csv', 'json', 'parquet', 'hf'])
      .optional()
      .describe('File format: jsonl, csv, json, parquet, or hf (a Hugging Face dataset folder of Parquet files); inferred from the extension (a folder: hf) when absent.'),
    split: z.string().min(1).optional().describe('format hf: the split to read (train, test, ...); needed when the folder has several.'),
    subset: z.string().min(1).optional().describe('format hf: the subset (config name) to read; default: "default", or the only one.'),
    fields: z
      .object({
        id: z.string().default('id').describe('Column holding the sample id; the row number is used when it is absent.'),
        target: z.string().default('target').describe('Column holding the expected answer.'),
        map: z
          .record(z.string(), z.string())
          .default({})
          .describe('Template field name -> source column, for datasets whose columns are named differently.'),
      })
      .strict()
      .default({ id: 'id', target: 'target', map: {} })
      .describe('Field mapping.'),
    limit: z.number().int().positive().optional().describe('Use only the first N samples (after shuffling).'),
    shuffle: z.boolean().default(false).describe('Shuffle sample order with a seeded permutation.'),
    seed: z.number().int().default(0).describe('Seed of the shuffle.'),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.path === undefined) === (d.samples === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of path or samples' });
    }
    for (const key of ['split', 'subset'] as const) {
      if (d[key] !== undefined && d.format !== undefined && d.format !== 'hf') ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for format hf (a Hugging Face dataset folder)` });
    }
  })
  .describe('The samples of a task.');

const NormalizeShape = {
  caseSensitive: z.boolean().default(false).describe('Compare case-sensitively.'),
  ignorePunctuation: z.boolean().default(true).describe('Drop punctuation before comparing.'),
  collapseWhitespace: z.boolean().default(true).describe('Trim and collapse runs of whitespace.'),
};

/** Scorer kinds accepted in `scorer.kind`. */
export const SCORER_KINDS = ['exact', 'includes', 'regex', 'numeric', 'choice', 'f1', 'judge', 'command'] as const;

/** How a prediction is compared with the target. Part of the sample key. */
export const ScorerConfigSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('exact').describe('Normalised prediction equals the target.'), ...NormalizeShape }).strict(),
    z.object({ kind: z.literal('includes').describe('Normalised prediction contains the target.'), ...NormalizeShape }).strict(),
    z
      .object({
        kind: z.literal('regex').describe('Extract a regex group from the prediction, then compare it with the target.'),
        pattern: z.string().min(1).describe('Regular expression (JavaScript syntax).'),
        flags: z.string().regex(/^[imsu]*$/, 'flags may only contain i, m, s, u').default('').describe('Regex flags.'),
        group: z.number().int().nonnegative().default(1).describe('Capture group to extract; 0 is the whole match.'),
        ...NormalizeShape,
      })
      .strict(),
    z
      .object({
        kind: z.literal('numeric').describe('Compare the last number in the prediction with a numeric target.'),
        absTolerance: z.number().nonnegative().default(1e-6).describe('Absolute tolerance.'),
        relTolerance: z.number().nonnegative().default(0).describe('Relative tolerance (fraction of the target).'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('choice').describe('Multiple choice: the chosen label equals the target, given as a label (C) or a 0-based index of the labels (2 is C of A-D); any other target is a scorer error.'),
        choices: z.array(z.string().min(1)).min(2).default(['A', 'B', 'C', 'D']).describe('Allowed choice labels.'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('f1').describe('Token-level F1 between prediction and target.'),
        threshold: z.number().min(0).max(1).default(0.5).describe('F1 at or above which the sample passes.'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('judge').describe('Another model grades the prediction against a rubric.'),
        model: z
          .union([SlugSchema, z.lazy(() => ModelConfigSchema)])
          .describe('Judge model: inline, or the name of configs/models/<name>.yaml.'),
        rubric: z.string().min(1).describe('What a good answer looks like; the judge ends its reply with GRADE: <grade>.'),
        grades: z
          .record(z.string(), z.number())
          .default({ C: 1, P: 0.5, I: 0 })
          .describe('Grade letter -> score value.'),
        passThreshold: z.number().default(1).describe('Score at or above which the sample passes.'),
      })
      .strict(),
    z
      .object({
        kind: z.literal('command').describe('A program scores: {prediction, target, sample} on stdin, {value, passed?} on stdout.'),
        command: z.array(z.string().min(1)).min(1).describe('Program and arguments as an array; never run through a shell.'),
        env: z.record(z.string(), z.string()).default({}).describe('Extra environment; values may contain ${NAME} references.'),
        timeoutMs: z.number().int().positive().default(60_000).describe('Timeout of one scoring call.'),
      })
      .strict(),
  ])
  .describe('How answers are scored.');

/** One chat message of a prompt template, with `{{field}}` slots. */
export const ChatMessageTemplateSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant']).describe('Speaker of the message.'),
    content: z.string().describe('Text with {{field}} slots filled from the sample.'),
  })
  .strict();

/** A worked example shown before the sample: template fields plus the expected answer. */
export const FewShotExampleSchema = z
  .object({
    fields: z.record(z.string(), z.unknown()).describe('Values for the template slots.'),
    target: z.string().describe('The answer shown to the model.'),
  })
  .strict();

/**
 * Limits of one sample of a prompt task. A sample past a limit is a failed sample with the limit as its
 * error type (EvalTokenLimit, EvalTimeLimit), never retried: another attempt would cross it again.
 */
export const SampleLimitsSchema = z
  .object({
    tokens: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Most tokens (input + output, as the endpoint reports them) one sample may use. The call is sent with max_tokens at most this (the lower of it and the model\'s params.maxTokens, which makes it part of the request\'s identity); an answer whose usage is above it fails the sample as EvalTokenLimit.',
      ),
    timeMs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'Milliseconds one sample\'s model call may take, counted from the start of its first attempt, retries and their waits included (waiting in the queue before it is not). The call is aborted when it runs out and the sample fails as EvalTimeLimit; not part of the request\'s identity.',
      ),
  })
  .strict()
  .describe('Per-sample limits: total tokens and wall-clock time.');

/** A prompt task: a dataset, a prompt template and a scorer. */
export const PromptTaskConfigSchema = z
  .object({
    id: SlugSchema.describe('Unique id of the task within an assignment.'),
    description: z.string().optional().describe('Free text for people.'),
    kind: z.literal('prompt').optional().describe('prompt (the default): one prompt, one answer; agent: episodes against an environment.'),
    dataset: DatasetConfigSchema,
    prompt: z
      .union([z.string().min(1), z.array(ChatMessageTemplateSchema).min(1)])
      .describe('A template string (one user message) or chat messages, with {{field}} slots.'),
    fewShot: z.array(FewShotExampleSchema).default([]).describe('Worked examples prepended to every prompt.'),
    scorer: ScorerConfigSchema.default({ kind: 'exact', caseSensitive: false, ignorePunctuation: true, collapseWhitespace: true }),
    epochs: EpochsSchema.optional(),
    reducer: ReducerSchema.default('mean'),
    limits: SampleLimitsSchema.optional(),
  })
  .strict()
  .describe('A task under evaluation.');

/** A task: a prompt task (the default) or, with `kind: agent`, episodes against an environment. */
export const TaskConfigSchema = z
  .discriminatedUnion('kind', [PromptTaskConfigSchema, AgentTaskConfigSchema])
  .describe('A task under evaluation: prompt -> answer (default), or `kind: agent`.');

/** Dataset config after defaults. */
export type DatasetConfig = z.infer<typeof DatasetConfigSchema>;
/** Scorer config after defaults. */
export type ScorerConfig = z.infer<typeof ScorerConfigSchema>;
/** Task config after defaults. */
export type TaskConfig = z.infer<typeof TaskConfigSchema>;
/** A prompt task after defaults. */
export type PromptTaskConfig = z.infer<typeof PromptTaskConfigSchema>;
/** A chat message template. */
export type ChatMessageTemplate = z.infer<typeof ChatMessageTemplateSchema>;
/** Per-sample limits of a prompt task. */
export type SampleLimits = z.infer<typeof SampleLimitsSchema>;
/** A few-shot example. */
export type FewShotExample = z.infer<typeof FewShotExampleSchema>;
