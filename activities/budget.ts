import { Context } from '@temporalio/activity';
import type { BudgetConfig, ModelConfig } from '../src/config/schema';
import { budgetStopSignal, ErrorTypes } from '../src/contracts';
import { costOf, type TokenUsage } from '../src/metrics/cost';
import { budgetSpent } from '../src/metrics/budget';
import { assignmentSpend, SpendMeter } from '../src/store/spend';
import type { ActivityDeps } from './deps';

/**
 * An assignment's budget across every worker: each model call adds what it used to its process's spend
 * counter for the assignment (src/store/spend.ts), and every call sums the counters just before it
 * starts. So a call starts only while the budget is not spent, and calls already in flight when it runs
 * out (at most the assignment's window) are the only ones past it. The first worker to find it spent
 * marks the assignment (`budgetStop`), records a `budget-exhausted` event and tells the assignment
 * workflow, which stops its jobs and ends the assignment failed with the reason.
 */

/** A budget mark that no workflow has acted on after this long is sent to the workflow again. */
const RESIGNAL_AFTER_MS = 15_000;

/** A call refused because the budget is spent. Retryable: the next attempt waits in the hold until the stop arrives. */
export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
  readonly type = ErrorTypes.BudgetExhausted;
  readonly retryable = true;
  readonly retryAfterMs = 1_000;
}

/** Throws BudgetExhaustedError when the assignment's budget is spent (marking and stopping it the first time). */
export async function checkBudget(deps: ActivityDeps, assignmentId: string, budget: BudgetConfig): Promise<void> {
  const [doc, spend] = await Promise.all([
    deps.store.assignments.findOne({ _id: assignmentId }, { projection: { budgetStop: 1, workflowId: 1 } }),
    assignmentSpend(deps.store.spend, assignmentId),
  ]);
  if (doc?.budgetStop) {
    if (Date.now() - new Date(doc.budgetStop.at).getTime() > RESIGNAL_AFTER_MS) await tellWorkflow(doc.workflowId, doc.budgetStop.reason);
    throw new BudgetExhaustedError(doc.budgetStop.reason);
  }
  const reason = budgetSpent(budget, spend);
  if (!reason) return;
  const at = new Date();
  const marked = await deps.store.assignments.updateOne({ _id: assignmentId, budgetStop: { $exists: false } }, { $set: { budgetStop: { reason, at }, spend } });
  if (marked.modifiedCount === 1) {
    await deps.store.events.updateOne(
      { _id: `${assignmentId}/budget-exhausted` },
      { $setOnInsert: { assignmentId, type: 'budget-exhausted', at, data: { reason, spend, budget } } },
      { upsert: true },
    );
    if (doc) await tellWorkflow(doc.workflowId, reason);
  }
  throw new BudgetExhaustedError(reason);
}

const meters = new WeakMap<object, SpendMeter>();

/** Adds one answered call's usage and cost to the assignment's spend (this process's counter); resolves once stored. */
export async function chargeCall(deps: ActivityDeps, assignmentId: string, model: ModelConfig, usage: TokenUsage): Promise<void> {
  let meter = meters.get(deps);
  if (!meter) meters.set(deps, (meter = new SpendMeter(deps.store.spend, deps.workerIdentity)));
  await meter.charge(assignmentId, { cost: costOf(usage, model.pricing), tokens: usage.inputTokens + usage.outputTokens, calls: 1 });
}

/** Signals the assignment workflow to stop; a workflow already closed has nothing to stop. */
async function tellWorkflow(workflowId: string, reason: string): Promise<void> {
  try {
    await Context.current().client.workflow.getHandle(workflowId).signal(budgetStopSignal, reason);
  } catch {
    // Closed or not found: nothing is running to stop. A lost signal is sent again by a later call.
  }
}
