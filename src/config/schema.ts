import { z } from 'zod';
import { ModelConfigSchema, SlugSchema } from './schema-model';
import { TaskConfigSchema } from './schema-task';
import { EpochsSchema } from './schema-epochs';

/**
 * The assignment config: models x tasks plus how to run them. Zod is the only source of its shapes;
 * configs/assignment.schema.json is generated from these schemas by scripts/gen-schema.ts.
 */

export * from './schema-model';
export * from './schema-task';
export * from './schema-agent';
export * from './schema-epochs';

/** Retries of one model or scorer call, mapped onto Temporal's retry policy. */
export const RetryPolicySchema = z
  .object({
    maxAttempts: z.number().int().positive().default(5).describe('Attempts per call, the first included.'),
    initialIntervalMs: z.number().int().positive().default(1000).describe('Wait before the first retry.'),
    backoffCoefficient: z.number().min(1).default(2).describe('Growth of the wait between retries.'),
    maxIntervalMs: z.number().int().positive().default(60_000).describe('Longest wait between retries.'),
  })
  .strict()
  .describe('Retry policy of model and scorer calls.');

/** Channels told when an assignment ends. */
export const NOTIFY_EVENTS = ['completed', 'failed', 'canceled'] as const;

const notifyOn = z
  .array(z.enum(NOTIFY_EVENTS))
  .min(1)
  .default(['completed', 'failed', 'canceled'])
  .describe('Outcomes that trigger the notification.');

/** One notification target: a plain JSON webhook or a Slack / Lark incoming webhook. */
export const NotifySchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('webhook').describe('POST a JSON summary.'), url: z.url().describe('Webhook URL.'), on: notifyOn }).strict(),
    z.object({ kind: z.literal('slack').describe('Slack incoming webhook.'), url: z.url().describe('Webhook URL.'), on: notifyOn }).strict(),
    z.object({ kind: z.literal('lark').describe('Lark/Feishu bot webhook.'), url: z.url().describe('Webhook URL.'), on: notifyOn }).strict(),
  ])
  .describe('A notification target.');

/** Concurrency limits across the assignment. */
export const ConcurrencySchema = z
  .object({
    global: z.number().int().positive().default(64).describe('Samples in flight across the whole assignment.'),
    perModel: z.number().int().positive().optional().describe('Samples in flight per model (the model\'s own limit also applies).'),
    perTask: z.number().int().positive().optional().describe('Samples in flight per task.'),
    jobs: z.number().int().positive().default(4).describe('Jobs (model x task) running at once.'),
  })
  .strict()
  .describe('Concurrency limits.');

/**
 * What an assignment may spend on model calls, counted from every call's reported usage and the model's
 * `pricing` across all its workers. Once spent, no new model call starts and the assignment ends failed
 * with the reason; calls already in flight finish and are counted.
 */
export const BudgetSchema = z
  .object({
    maxCost: z.number().positive().optional().describe('Most cost (in the unit of the models\' pricing) the assignment may spend on model calls.'),
    maxTokens: z.number().int().positive().optional().describe('Most tokens (input + output) the assignment may spend on model calls.'),
  })
  .strict()
  .refine((b) => b.maxCost !== undefined || b.maxTokens !== undefined, 'set maxCost, maxTokens or both')
  .describe('Spending limit of the assignment.');

/** Default of `failOnError`: more than 5% failed samples in any job (or in the whole assignment) fail it. */
export const DEFAULT_FAIL_ON_ERROR = 0.05;

/**
 * When a run counts as failed: any error (true), never (false), a fraction of samples, or a count. A
 * fraction applies to each job (model x task) and to the whole assignment, so one broken model fails the
 * run however many others are fine; a count applies to the whole assignment.
 */
export const FailOnErrorSchema = z
  .union(
    [
      z.boolean().describe('true: any failed sample fails the assignment; false: never.'),
      z
        .number()
        .refine((n) => (n > 0 && n < 1) || (Number.isInteger(n) && n >= 1), 'expected a fraction between 0 and 1 or a whole count >= 1')
        .describe('A fraction (0..1) of the samples of each job and of the assignment, or a count of samples of the assignment, that may fail before the assignment fails.'),
    ],
    { error: 'expected true, false, a fraction between 0 and 1, or a whole count >= 1' },
  )
  .default(DEFAULT_FAIL_ON_ERROR)
  .describe('When failed samples fail the assignment: true (any), false (never), a fraction (0..1) of the samples of any job or of the whole assignment, or a count. Default 0.05.');

const assignmentShape = {
  $schema: z.string().optional().describe('JSON Schema reference for editors; ignored.'),
  name: SlugSchema.describe('Name of the assignment.'),
  description: z.string().optional().describe('Free text for people.'),
  output: z
    .union([z.string().min(1), z.literal(false)])
    .optional()
    .describe(
      'Export folder written when the assignment ends (relative to the config file); {TIMESTAMP} and {NAME} are replaced. Default: outputs/{NAME}/{TIMESTAMP} in the working directory of `evalctl start` or `run`; false: no automatic export.',
    ),
  retry: RetryPolicySchema.default({ maxAttempts: 5, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 60_000 }),
  concurrency: ConcurrencySchema.default({ global: 64, jobs: 4 }),
  autoRetry: z.number().int().min(0).max(10).default(0).describe('Extra rounds re-running failed samples at the end.'),
  fanout: z
    .enum(['auto', 'per-sample', 'batch'])
    .default('auto')
    .describe(
      'How samples are started: auto (the default: per-sample for jobs whose window is at most 16 calls and for agent tasks, batch for wider windows, which per-sample fan-out cannot keep full on a Temporal dev server), per-sample (one child workflow per sample: adoption of runs of other assignments, per-sample view in the Web UI) or batch (a few shard workflows per job, each running its index range inside one long activity with an in-process pool of model calls, results stored in bulk, resumed from a heartbeat checkpoint after a lost worker: no history events per sample, for large and fast runs; no adoption; jobs with a judge or command scorer, or a rate-limited model, run one activity per sample in shards of 500).',
    ),
  failOnError: FailOnErrorSchema,
  epochs: EpochsSchema.optional().describe('Epochs of every prompt task that sets none of its own (see tasks[].epochs). Default 1.'),
  notify: z.array(NotifySchema).default([]).describe('Notifications when the assignment ends.'),
  budget: BudgetSchema.optional(),
};

/**
 * An assignment as loaded and stored: every model and task inline (references expanded by load.ts).
 * This is what workflows and activities receive.
 */
export const AssignmentConfigSchema = z
  .object({
    ...assignmentShape,
    models: z.array(ModelConfigSchema).min(1).describe('Models under evaluation.'),
    tasks: z.array(TaskConfigSchema).min(1).describe('Tasks under evaluation.'),
  })
  .strict()
  .describe('An evalctl assignment, references expanded.');

/** An assignment as written in YAML: models and tasks inline or named (configs/models/<name>.yaml). */
export const RawAssignmentConfigSchema = z
  .object({
    ...assignmentShape,
    models: z
      .array(z.union([SlugSchema, ModelConfigSchema]))
      .min(1)
      .describe('Models: inline, or the name of configs/models/<name>.yaml.'),
    tasks: z
      .array(z.union([SlugSchema, TaskConfigSchema]))
      .min(1)
      .describe('Tasks: inline, or the name of configs/tasks/<name>.yaml.'),
  })
  .strict()
  .describe('An evalctl assignment.');

/** An assignment with references expanded. */
export type AssignmentConfig = z.infer<typeof AssignmentConfigSchema>;
/** The assignment as written, before references are expanded. */
export type RawAssignmentConfig = z.infer<typeof RawAssignmentConfigSchema>;
/** Retry policy after defaults. */
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
/** A notification target. */
export type NotifyConfig = z.infer<typeof NotifySchema>;
/** Concurrency limits. */
export type ConcurrencyConfig = z.infer<typeof ConcurrencySchema>;
/** An assignment's spending limit. */
export type BudgetConfig = z.infer<typeof BudgetSchema>;
/** failOnError after defaults. */
export type FailOnError = z.infer<typeof FailOnErrorSchema>;

/** The export folder of an assignment whose config names none, relative to the working directory of the command that started it. */
export const DEFAULT_OUTPUT = 'outputs/{NAME}/{TIMESTAMP}';

/** Replaces {TIMESTAMP} and {NAME} in the output template; the timestamp is filesystem-safe UTC. */
export function resolveOutputPath(template: string, name: string, now: Date = new Date()): string {
  const ts = now.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  return template.split('{TIMESTAMP}').join(ts).split('{NAME}').join(name);
}
