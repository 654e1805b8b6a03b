import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AssignmentProgress, JobProgress, SampleOutcome, SampleWaiter, ShardProgress } from './workflow-types';

/** Signals and queries of evalctl's workflows, shared by workflow code and the CLI. */

/** Stop starting new model calls; in-flight ones finish. Sent to assignments, forwarded to jobs. */
export const pauseSignal = defineSignal('pause');
/** Start model calls again after a pause. */
export const resumeSignal = defineSignal('resume');
/** A sample execution tells a waiting job how it ended. */
export const sampleDoneSignal = defineSignal<[SampleOutcome]>('sampleDone');
/** Another job asks a running sample execution to tell it of the outcome too (adoption). */
export const addWaiterSignal = defineSignal<[SampleWaiter]>('addWaiter');
/**
 * A job asks a sample execution it started, whose outcome it was going to read from the execution's result,
 * to tell it by signal instead: sent before the job continues as new, since a new run cannot read the
 * results of children the old run started.
 */
export const reportBySignalSignal = defineSignal('reportBySignal');
/** A job reports its counts to its assignment. */
export const jobProgressSignal = defineSignal<[JobProgress]>('jobProgress');

/** A worker found the assignment's budget spent: the assignment stops its jobs and ends failed with this reason. */
export const budgetStopSignal = defineSignal<[string]>('budgetStop');

/** A shard runner reports its counts so far to its job (batch fan-out), so progress moves during a shard. */
export const shardProgressSignal = defineSignal<[ShardProgress]>('shardProgress');

/** Counts per job of an assignment. */
export const progressQuery = defineQuery<AssignmentProgress>('progress');
/** Counts of one job. */
export const jobProgressQuery = defineQuery<JobProgress>('jobProgress');
