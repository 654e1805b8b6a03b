import * as path from 'node:path';
import { Command } from 'commander';
import type { AssignmentConfig, ModelConfig } from '../config/schema';
import { fanoutFor, providerBatchLabel, sampleCallLabel } from '../plan/jobs';
import { DatasetError } from '../datasets';
import { describeSamples, openTaskSamples } from '../environments';
import { scorerKind } from '../scorers';
import { addConfigInputOptions, loadConfigInput } from './config-input';
import { UsageError } from './errors';

/** What `validate` reports about a valid assignment. */
export interface ValidationSummary {
  name: string;
  source: string;
  /** `fanout`: how the model's jobs would start samples, and why (agent tasks always run per sample). */
  models: Array<{ id: string; provider: string; concurrency: number; fanout: string }>;
  /** `samples` counts requests per model: dataset samples x `epochs` (absent for one epoch). */
  tasks: Array<{ id: string; samples: number; scorer: string; dataset: string; epochs?: number; reducer?: string }>;
  totalSamples: number;
  totalRequests: number;
}

/** Options of `validate`, as parsed. */
export interface ValidateOptions {
  config?: string;
  models?: string[];
  tasks?: string[];
  configDir?: string;
}

/** `evalctl validate`: checks an assignment (file or --models/--tasks) and shows what it would run. */
export function validateCommand(): Command {
  const cmd = new Command('validate')
    .description('Check an assignment config and show what it would run (models, tasks, samples, requests).')
    .argument('[config]', 'assignment YAML file');
  return addConfigInputOptions(cmd)
    .option('--json', 'print the summary as JSON')
    .action(async (config: string | undefined, opts: { models?: string[]; tasks?: string[]; configDir?: string; json?: boolean }) => {
      const summary = await validateAssignment({ config, models: opts.models, tasks: opts.tasks, configDir: opts.configDir });
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    });
}

/** Validates and opens every dataset (counting samples); returns the summary. */
export async function validateAssignment(opts: ValidateOptions): Promise<ValidationSummary> {
  const loaded = await loadConfigInput(opts.config, opts);
  const { config } = loaded;
  const tasks: ValidationSummary['tasks'] = [];
  for (const task of config.tasks) {
    try {
      const dataset = await openTaskSamples(task);
      // Agent tasks take their samples from the environment, and are scored by it unless a scorer is set.
      if (task.kind === 'agent') {
        tasks.push({ id: task.id, samples: dataset.count, scorer: task.scorer ? scorerKind(task.scorer) : 'environment', dataset: describeSamples(task) });
        continue;
      }
      const source = task.dataset.path ? path.relative(process.cwd(), task.dataset.path) : `inline (${task.dataset.samples?.length ?? 0})`;
      const epochs = (task.epochs ?? 1) > 1 ? { epochs: task.epochs, reducer: task.reducer } : {};
      tasks.push({ id: task.id, samples: dataset.count, scorer: scorerKind(task.scorer), dataset: source, ...epochs });
    } catch (err) {
      if (err instanceof DatasetError) throw new UsageError(`task ${task.id}: ${err.message}`);
      throw err;
    }
  }
  const totalSamples = tasks.reduce((a, t) => a + t.samples, 0);
  return {
    name: config.name,
    source: path.relative(process.cwd(), loaded.sourcePath) || '.',
    models: config.models.map((m) => ({ id: m.id, provider: providerLabel(m), concurrency: m.concurrency, fanout: fanoutLabel(config, m) })),
    tasks,
    totalSamples,
    totalRequests: totalSamples * config.models.length,
  };
}

/** The fan-out of a model's jobs (of its non-agent tasks: agent tasks always run per sample), with the reason. */
function fanoutLabel(config: AssignmentConfig, model: ModelConfig): string {
  const batched = providerBatchLabel(model);
  if (batched) return batched;
  const task = config.tasks.find((t) => t.kind !== 'agent') ?? config.tasks[0];
  const { fanout, reason } = fanoutFor(config, model, task);
  return fanout === 'per-sample' ? `${fanout} (${reason}; ${sampleCallLabel(fanout, model, task)})` : `${fanout} (${reason})`;
}

function providerLabel(model: ModelConfig): string {
  const p = model.provider;
  if (p.kind === 'openai') return `openai ${p.model} @ ${p.baseUrl}`;
  if (p.kind === 'command') return `command ${p.command.join(' ')}`;
  return `simulated (accuracy ${p.accuracy})`;
}

/** The one-screen text summary. */
export function formatSummary(s: ValidationSummary): string {
  const pad = (text: string, n: number): string => text.padEnd(n);
  const idWidth = Math.max(4, ...s.models.map((m) => m.id.length), ...s.tasks.map((t) => t.id.length)) + 2;
  const lines = [
    `assignment ${s.name} (${s.source}): valid`,
    '',
    `models (${s.models.length}):`,
    ...s.models.map((m) => `  ${pad(m.id, idWidth)}${pad(m.provider, 48)} concurrency ${m.concurrency}, fanout ${m.fanout}`),
    '',
    `tasks (${s.tasks.length}):`,
    ...s.tasks.map((t) => `  ${pad(t.id, idWidth)}${pad(`${t.samples} samples`, 16)}${pad(t.scorer, 20)}${t.dataset}${t.epochs ? ` (${t.samples / t.epochs} x ${t.epochs} epochs, ${t.reducer})` : ''}`),
    '',
    `samples: ${s.totalSamples}   requests: ${s.models.length} models x ${s.totalSamples} samples = ${s.totalRequests}`,
  ];
  return `${lines.join('\n')}\n`;
}
