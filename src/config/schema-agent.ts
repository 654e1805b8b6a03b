import { z } from 'zod';
import { SlugSchema } from './schema-model';
import { ChatMessageTemplateSchema, FewShotExampleSchema, ScorerConfigSchema } from './schema-task';

/**
 * Agent task schemas: a task of `kind: agent` runs multi-turn episodes against an environment served by
 * task workers (`evalctl worker task <environment.name>`), instead of one prompt and one answer.
 */

/** Statuses an environment reports for a session (AgentBench's SampleStatus values). */
export const EPISODE_STATUSES = [
  'running', 'completed', 'agent context limit', 'agent validation failed', 'agent invalid action', 'task limit reached', 'unknown', 'task error',
] as const;

const EnvironmentName = SlugSchema.describe(
  'Name of the environment: its task workers poll evalctl-task.<name> (`evalctl worker task <name>`).',
);

/** An environment implemented by a TypeScript/JavaScript module loaded by the task worker. */
export const ModuleEnvironmentSchema = z
  .object({
    kind: z.literal('module').describe('A module exporting indices, start, step, cancel and optionally calculateOverall.'),
    name: EnvironmentName,
    module: z
      .string()
      .min(1)
      .describe('Module path (relative to the config file) or builtin:<name> for an environment shipped with evalctl (builtin:number-guess).'),
    options: z.record(z.string(), z.unknown()).default({}).describe('Passed to every call of the module; part of the sample key.'),
  })
  .strict();

/** An AgentBench task controller, spoken to in its v0.2 HTTP protocol. */
export const AgentBenchEnvironmentSchema = z
  .object({
    kind: z.literal('agentbench').describe('An AgentBench task controller (v0.2 HTTP protocol).'),
    name: EnvironmentName,
    url: z.string().url().describe('Controller address including its prefix, e.g. http://127.0.0.1:5000/api.'),
    task: z.string().min(1).describe('AgentBench task name (the `name` of get_indices and start_sample).'),
    retryAfterMs: z.number().int().positive().default(1000).describe('Wait before asking again when the controller answers 406 without "Task does not exist" (no worker has capacity).'),
    requestTimeoutMs: z.number().int().positive().default(300_000).describe('Timeout of one HTTP request.'),
  })
  .strict();

/** Where an agent task's episodes run. */
export const EnvironmentConfigSchema = z
  .discriminatedUnion('kind', [ModuleEnvironmentSchema, AgentBenchEnvironmentSchema])
  .describe('The environment episodes run against.');

/** A task whose samples are episodes: model turns and environment turns until the environment ends it. */
export const AgentTaskConfigSchema = z
  .object({
    id: SlugSchema.describe('Unique id of the task within an assignment.'),
    description: z.string().optional().describe('Free text for people.'),
    kind: z.literal('agent').describe('Multi-turn episodes against an environment.'),
    environment: EnvironmentConfigSchema,
    maxTurns: z.number().int().min(1).max(1000).default(20).describe('Model turns after which the episode ends (task limit reached).'),
    timeLimitMs: z.number().int().positive().default(600_000).describe(
      'Wall time of the whole episode (restarts and a turn that never returns included) after which it ends (task limit reached) and its session is cancelled.',
    ),
    maxRestarts: z.number().int().min(0).max(100).default(3).describe(
      'Times an episode starts again after its session was lost (task worker or AgentBench worker gone, controller restarted, session id taken).',
    ),
    limit: z.number().int().positive().optional().describe('Use only the first N sample indices of the environment.'),
    // Getters: schema-task imports this file for its union, so its schemas are read lazily (no import cycle at load).
    get prompt() {
      return z
        .union([z.string(), z.array(ChatMessageTemplateSchema)])
        .default([])
        .describe('Messages put before the environment\'s own (e.g. a system prompt); part of the sample key.');
    },
    get fewShot() {
      return z.array(FewShotExampleSchema).default([]).describe('Worked exchanges put before the episode.');
    },
    get scorer() {
      return ScorerConfigSchema.optional().describe(
        "Scores the agent's last message against the environment's target. Default: the environment's result (a number or `score`; a boolean or `success`/`passed`/`correct`/`result` flag); a completed episode without one scores 0.",
      );
    },
  })
  .strict()
  .describe('An agent task: episodes against an environment.');

/** Environment config after defaults. */
export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
/** Agent task config after defaults. */
export type AgentTaskConfig = z.infer<typeof AgentTaskConfigSchema>;
/** A status an environment reports. */
export type EpisodeStatus = (typeof EPISODE_STATUSES)[number];
