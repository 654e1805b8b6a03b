import { Command, Option } from 'commander';
import type { RunMode } from '../contracts';
import { previewAssignment, type AssignmentPreview } from '../control/preview';
import { unservedQueues } from '../control/queue-check';
import { AssignmentExistsError, startAssignment } from '../control/start';
import { DatasetError } from '../datasets';
import type { Store } from '../store/store';
import type { AssignmentConfig } from '../config/schema';
import type { TemporalHandle } from '../temporal/client';
import { uiBaseUrl, workflowUiUrl } from '../temporal/client';
import { addConfigInputOptions, loadConfigInput, type ConfigInputOptions } from './config-input';
import { UsageError } from './errors';
import { checkAssignmentId, printJson, withServices } from './services';
import { watchAssignment } from './watch';

/** Options `start` and `run` share. */
export interface StartOptions extends ConfigInputOptions {
  id?: string;
  watch?: boolean;
  json?: boolean;
  dryRun?: boolean;
  mode: RunMode;
  reuse?: string | boolean;
  force?: boolean;
}

/** Adds the options `start` and `run` share. */
export function addStartOptions(cmd: Command): Command {
  cmd
    .argument('[config]', 'assignment YAML file')
    .option('--id <id>', 'assignment id (default: <name>-<timestamp>-<random>)')
    .addOption(new Option('--mode <mode>', 'stages: all; infer (predictions only); eval (score stored predictions, no model call); report (aggregates of stored results only)').choices(['all', 'infer', 'eval', 'report']).default('all'))
    .option('--reuse [id]', 'score earlier predictions of the same requests instead of calling the model (from assignment <id>, or the latest)')
    .option('--no-reuse', 'call the model for every sample: no stored result or prediction of another assignment is reused (retries of this one still keep its own successes)')
    .option('--force', 'the same as --no-reuse')
    .option('--dry-run', 'print the plan (jobs, samples, queues; reused, adopted, executed) and start nothing')
    .option('--json', 'print JSON on stdout');
  return addConfigInputOptions(cmd);
}

/** Whether --no-reuse (or --force) was given; refused with the stages that only read stored results. */
export function noReuseOption(opts: Pick<StartOptions, 'reuse' | 'force' | 'mode'>): boolean {
  const fresh = opts.reuse === false || opts.force === true;
  if (fresh && typeof opts.reuse === 'string') throw new UsageError('--force and --reuse exclude each other: reuse earlier predictions, or none');
  if (fresh && (opts.mode === 'eval' || opts.mode === 'report')) {
    throw new UsageError(`--no-reuse/--force: --mode ${opts.mode} only reads stored results; use --mode all or infer to call the model again`);
  }
  return fresh;
}

/** Where --reuse points: nothing, any earlier prediction, or one assignment's. */
export async function reuseFromOption(store: Store, reuse: string | boolean | undefined): Promise<string | null> {
  if (reuse === undefined || reuse === false) return null;
  if (reuse === true) return '*';
  const id = checkAssignmentId(reuse, '--reuse');
  if (!(await store.assignments.findOne({ _id: id }, { projection: { _id: 1 } }))) throw new UsageError(`--reuse: no assignment with id "${id}"`);
  return id;
}

/** The dry-run plan as a table for people. */
export function formatPreview(p: AssignmentPreview): string {
  const head = `plan of ${p.name} (mode ${p.mode}): ${p.jobs.length} jobs, ${p.totals.samples} samples`;
  const rows = p.jobs.map((j) => `  ${j.jobId.padEnd(32)} ${j.queue.padEnd(30)} ${String(j.samples).padStart(7)} samples: ${j.reused} reused, ${j.adopted} adopted, ${j.rescored} rescored, ${j.executed} executed; ${j.providerBatch ?? `fanout ${j.fanout} (${j.fanoutReason})`}`);
  const t = p.totals;
  const e = t.estimate;
  const estimate = `  estimate of the model calls: ${e.inputTokens} input + ${e.outputTokens} output tokens, cost ${Number(e.cost.toPrecision(6))} (input: prompt characters / 4; output: max_tokens, else 256 per call)`;
  const lines = [head, ...rows, `  total: ${t.reused} reused, ${t.adopted} adopted, ${t.rescored} rescored, ${t.executed} executed (model calls: ${t.executed})`, estimate];
  if (p.budget) {
    const limits = [p.budget.limits.maxCost !== undefined ? `maxCost ${p.budget.limits.maxCost}` : '', p.budget.limits.maxTokens !== undefined ? `maxTokens ${p.budget.limits.maxTokens}` : ''].filter(Boolean).join(', ');
    lines.push(`  budget: ${limits}: ${p.budget.fits ? 'the estimate fits' : 'the estimate is over it: the run would stop when the budget is spent'}`);
  }
  return lines.join('\n');
}

/** `--dry-run`: the plan on stdout, as JSON or a table; nothing is started or written. */
export async function printPreview(store: Store, temporal: TemporalHandle, config: AssignmentConfig, opts: StartOptions, reuseFrom: string | null): Promise<void> {
  const preview = await previewAssignment(store, temporal, config, opts.mode, reuseFrom, noReuseOption(opts)).catch((err: unknown) => {
    if (err instanceof DatasetError) throw new UsageError(err.message);
    throw err;
  });
  if (opts.json) printJson(preview);
  else process.stdout.write(`${formatPreview(preview)}\n`);
}

/** `evalctl start`: validates a config, snapshots it to MongoDB and starts the assignment workflow. */
export function startCommand(): Command {
  const cmd = addStartOptions(new Command('start').description('start an assignment from a config file (or --models/--tasks) as a durable workflow'))
    .option('--watch', 'follow progress until the assignment ends');
  return cmd.action(async (configPath: string | undefined, opts: StartOptions, command: Command) => {
    if (opts.id !== undefined) checkAssignmentId(opts.id, '--id');
    const noReuse = noReuseOption(opts);
    const loaded = await loadConfigInput(configPath, opts);
    await withServices(command, async ({ store, temporal, connection }) => {
      const reuseFrom = await reuseFromOption(store, opts.reuse);
      if (opts.dryRun) return printPreview(store, temporal, loaded.config, opts, reuseFrom);
      const started = await startAssignment(store, temporal, { config: loaded.config, sourcePath: loaded.sourcePath, assignmentId: opts.id, mode: opts.mode, reuseFrom, noReuse })
        .catch((err: unknown) => {
          if (err instanceof AssignmentExistsError) throw new UsageError(`--id: ${err.message}`);
          if (err instanceof DatasetError) throw new UsageError(err.message);
          throw err;
        });
      const uiUrl = workflowUiUrl(uiBaseUrl(process.env, connection.temporalAddress), connection.temporalNamespace, started.workflowId);
      if (opts.json) printJson({ ...started, uiUrl });
      else process.stdout.write(`started ${started.assignmentId}\n  workflow: ${started.workflowId}\n  web ui:   ${uiUrl}\n`);
      for (const u of await unservedQueues(temporal.client, connection.temporalNamespace, loaded.config)) {
        process.stderr.write(`warning: no worker polls ${u.queue}; its work waits until one does: ${u.hint}\n`);
      }
      if (opts.watch) await watchAssignment(store, temporal, started.assignmentId, { interruptHint: true });
    });
  });
}
