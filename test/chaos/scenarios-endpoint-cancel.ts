import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { assignmentWorkflowId } from '../../src/contracts';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';
import { readCallLog, writeWorkload } from '../helpers/assignments';
import { runCli } from '../helpers/cli';
import { startFakeOpenAI } from '../helpers/openai-server';
import { waitFor } from '../helpers/wait';
import { stackEnv } from '../helpers/workers';
import { audit, printFigures, startAssignment, watchToEnd, WorkerFleet, type ScenarioFigures } from './harness';
import type { ScenarioContext } from './scenarios';

async function services(ctx: ScenarioContext): Promise<{ store: Store; temporal: TemporalHandle }> {
  const store = await openStore(ctx.stack.mongoUrl);
  const s = ctx.stack;
  const temporal = await connectTemporal({ temporalAddress: s.temporalAddress, temporalNamespace: s.namespace, mongoUrl: s.mongoUrl });
  ctx.t.after(() => Promise.allSettled([store.close(), temporal.close()]));
  return { store, temporal };
}

/** An assignment of two openai models on one local endpoint, retried generously (half the calls fail for a while). */
function endpointConfig(ctx: ScenarioContext, baseUrl: string, samples: number): string {
  const data = join(ctx.dir, `${ctx.name}.jsonl`);
  const salt = `${ctx.name}-${Date.now()}`;
  writeFileSync(data, Array.from({ length: samples / 2 }, (_, i) => JSON.stringify({ q: `${salt}: what is ${i}?`, target: String(i) })).join('\n'));
  const models = ['a', 'b'].map((m) => ({ id: `model-${m}`, provider: { kind: 'openai', baseUrl, model: `fake-${m}` }, concurrency: 8 }));
  const config = {
    name: ctx.name, models, tasks: [{ id: 'echo', dataset: { path: data }, prompt: '{{q}}', scorer: { kind: 'exact' } }],
    retry: { maxAttempts: 40, initialIntervalMs: 100, backoffCoefficient: 1.5, maxIntervalMs: 1000 },
  };
  const file = join(ctx.dir, `${ctx.name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

/**
 * Scenario 4: the endpoint answers 429 (with Retry-After) or 503 to half the calls, at random, for `faultMs`
 * from the first call. The assignment completes, and each result's `attempts` counts its failed calls: the
 * retries in the results add up to exactly the refused calls.
 */
export async function endpointFaults(ctx: ScenarioContext, samples: number, faultMs: number): Promise<ScenarioFigures> {
  const { store } = await services(ctx);
  let until = Infinity;
  const endpoint = await startFakeOpenAI({
    faults: () => {
      if (until === Infinity) until = Date.now() + faultMs;
      if (Date.now() >= until || Math.random() >= 0.5) return undefined;
      return Math.random() < 0.5 ? { status: 429, retryAfter: '0' } : { status: 503 };
    },
  });
  ctx.t.after(() => endpoint.close());
  const env = stackEnv(ctx.stack);
  const fleet = new WorkerFleet(env, ctx.t);
  await fleet.start();
  const id = await startAssignment(env, endpointConfig(ctx, endpoint.baseUrl, samples));
  await watchToEnd(env, id);
  const a = await audit(store, id, samples);
  assert.equal(a.failed, 0, 'no sample failed');
  assert.equal(a.lost, 0, 'every result stored');
  const refused = endpoint.seen.filter((r) => r.status !== 200);
  assert.ok(refused.length >= samples / 10, `${refused.length} calls were refused`);
  const keys = (await store.samples.find({ assignmentId: id }).toArray()).map((s) => s.sampleKey);
  const results = await store.results.find({ _id: { $in: keys } }).toArray();
  const retries = results.reduce((sum, r) => sum + (r.attempts - 1), 0);
  assert.equal(retries, refused.length, 'results count every retry: the sum of (attempts - 1) equals the refused calls');
  assert.ok(results.some((r) => r.attempts > 2));
  // Duplicates: a prompt of one model answered 200 more than once.
  const answered = new Map<string, number>();
  for (const r of endpoint.seen.filter((x) => x.status === 200)) answered.set(r.prompt, (answered.get(r.prompt) ?? 0) + 1);
  const duplicates = [...answered.values()].reduce((sum, n) => sum + n - 1, 0) - samples / 2;
  let longest = 0;
  const byPrompt = new Map<string, number>();
  for (const r of endpoint.seen) {
    if (r.status !== 200 && !byPrompt.has(r.prompt)) byPrompt.set(r.prompt, r.t);
    if (r.status === 200 && byPrompt.has(r.prompt)) longest = Math.max(longest, r.t - (byPrompt.get(r.prompt) as number));
  }
  assert.equal(duplicates, 0, 'each (model, prompt) answered once: no duplicate calls');
  return printFigures({
    scenario: `endpoint 429/503 on half the calls for ${faultMs / 1000} s`, runs: 1, faults: refused.length, samples, duplicates, lost: a.lost, longestRecoveryMs: longest,
    notes: `${refused.filter((r) => r.status === 429).length} x 429, ${refused.filter((r) => r.status === 503).length} x 503; results count ${retries} retries; max attempts ${Math.max(...results.map((r) => r.attempts))}`,
  });
}

/** Pending activity types of a workflow, from Temporal. */
async function pendingActivities(temporal: TemporalHandle, workflowId: string): Promise<string[]> {
  const d = await temporal.client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? '');
}

/** A webhook that never answers, so finalisation (which notifies) is held for its delivery budget. */
async function hangingWebhook(ctx: ScenarioContext): Promise<string> {
  const server: Server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

/** A phase of an assignment's life a cancel can hit. */
export type Phase = 'planning' | 'run' | 'finalisation';

/**
 * Cancels an assignment in a phase with the CLI and checks the ending. Planning takes milliseconds, faster
 * than a CLI call, so that cancel is made certain to land before the planner: no worker runs until the cancel
 * is requested, then one starts and meets the cancel as planning begins.
 */
async function cancelIn(ctx: ScenarioContext, phase: Phase, env: NodeJS.ProcessEnv, config: string, callLog: string): Promise<{ ms: number; hit: string }> {
  const { store, temporal } = await services(ctx);
  const fleet = new WorkerFleet(env, ctx.t);
  if (phase !== 'planning') await fleet.start();
  const id = await startAssignment(env, config);
  const workflowId = assignmentWorkflowId(id);
  const hit = phase === 'planning' ? 'before the planner ran' : await waitFor(async () => {
    const pending = await pendingActivities(temporal, workflowId);
    if (phase === 'finalisation' && pending.includes('finalizeAssignment')) return 'finalizeAssignment pending';
    if (phase === 'run' && readCallLog(callLog).filter((e) => e.event === 'start').length >= 8) return '8 model calls started';
    return undefined;
  }, { timeoutMs: 120_000, intervalMs: 25, message: `assignment ${id} in its ${phase}` });
  const t0 = Date.now();
  const cancel = runCli(['cancel', id, '--json'], { env });
  if (phase === 'planning') {
    await waitFor(async () => (await store.assignments.findOne({ _id: id }))?.cancelRequested, { timeoutMs: 30_000, message: 'the cancel request' });
    await fleet.start();
  }
  const res = await cancel;
  const returnedAt = Date.now();
  assert.equal(res.code, 0, res.stderr);
  const history = async (): Promise<string> => {
    const h = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    return (h.events ?? []).map((e) => `${Number(e.eventTime?.seconds ?? 0) % 1000}s ${String(e.eventType)}`).join('\n');
  };
  if ((JSON.parse(res.stdout) as Array<{ status: string }>)[0]?.status !== 'canceled') {
    assert.fail(`cancel during ${phase} (${hit}) returned ${res.stdout} after ${returnedAt - t0} ms; history:\n${await history()}`);
  }
  const described = await waitFor(async () => {
    const d = await temporal.client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? undefined : d.status.name;
  }, { timeoutMs: 60_000, message: `the workflow of ${id} to close` });
  assert.equal(described, 'CANCELLED', `Temporal agrees after a cancel during ${phase}`);
  assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'canceled', `MongoDB says canceled after a cancel during ${phase}`);
  const late = readCallLog(callLog).filter((e) => e.event === 'start' && e.t > returnedAt);
  assert.deepEqual(late, [], `no model call started after cancel returned (${phase})`);
  return { ms: returnedAt - t0, hit };
}

/**
 * Scenario 5: cancel during planning (requested before the planner runs), during the run and during
 * finalisation (a webhook that never answers holds it): always `canceled` in MongoDB and in Temporal, and
 * no model call starts after cancel returns.
 */
export async function cancels(ctx: ScenarioContext, planningRows = 1000, phases: readonly Phase[] = ['planning', 'run', 'finalisation']): Promise<ScenarioFigures> {
  const callLog = join(ctx.dir, `${ctx.name}-calls.jsonl`);
  const env = stackEnv(ctx.stack, { EVALCTL_SIMULATED_CALL_LOG: callLog });
  const salt = `${ctx.name}-${Date.now()}`;
  const configs: Record<Phase, string> = {
    planning: writeWorkload(ctx.dir, { name: `${ctx.name}-planning`, models: 2, tasks: 2, samples: planningRows, salt, latencyMs: 2_000 }),
    run: writeWorkload(ctx.dir, { name: `${ctx.name}-run`, models: 2, tasks: 1, samples: 100, salt, latencyMs: 20_000, concurrency: 6 }),
    finalisation: writeWorkload(ctx.dir, {
      name: `${ctx.name}-final`, models: 1, tasks: 1, samples: 10, salt, latencyMs: 10,
      extra: { notify: [{ kind: 'webhook', url: await hangingWebhook(ctx) }] },
    }),
  };
  const notes: string[] = [];
  let longest = 0;
  for (const phase of phases) {
    const r = await cancelIn(ctx, phase, env, configs[phase], callLog);
    longest = Math.max(longest, r.ms);
    notes.push(`${phase}: ${r.hit}, cancel returned in ${(r.ms / 1000).toFixed(1)} s`);
  }
  return printFigures({ scenario: `cancel during ${phases.join(', ')}`, runs: phases.length, faults: phases.length, samples: 0, duplicates: 0, lost: 0, longestRecoveryMs: longest, notes: notes.join('; ') });
}
