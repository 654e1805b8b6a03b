import { agentActivities } from './agent';
import { ConfigCache, type ActivityDeps } from './deps';
import { finalizeActivities } from './finalize';
import { HoldCache } from './holds';
import { inferActivities, modelCaller } from './infer';
import { localCallActivities } from './local-call';
import { planActivities } from './plan';
import { providerBatchActivities } from './provider-batch';
import { recordActivities } from './records';
import { scoreActivities } from './score';
import { shardRunnerActivities } from './shard-runner';

export type { ActivityDeps, DeviceLease } from './deps';
export { defaultWorkerIdentity, ConfigCache } from './deps';
export { taskActivities, type TaskActivities, type TaskWorkerSettings } from './sessions';

/**
 * Every activity of evalctl, built over one process's dependencies. Workers register the subset their
 * task queue serves; workflows import this module as a type only.
 */
export function createActivities(deps: ActivityDeps) {
  const configs = new ConfigCache(deps.store);
  const scoring = scoreActivities(deps, configs);
  const callModel = modelCaller(deps, configs);
  // One copy of the assignments' pause and cancel flags per process, for the calls that run inside it.
  const holds = new HoldCache(deps);
  return {
    ...planActivities(deps, configs),
    ...inferActivities(deps, configs, callModel, scoring.scoreAndStore, holds),
    ...localCallActivities(deps, configs, callModel, scoring.scoreAndStore, holds),
    ...shardRunnerActivities(deps, configs, callModel, holds),
    ...providerBatchActivities(deps, configs),
    ...scoring,
    ...recordActivities(deps, configs),
    ...finalizeActivities(deps, configs),
    ...agentActivities(deps, configs),
  };
}

/** The activity functions by name. */
export type Activities = ReturnType<typeof createActivities>;

/** Which activities each queue type serves. */
export const ACTIVITIES_BY_ROLE = {
  orchestrator: ['planAssignment', 'prepareBatch', 'recordOutcome', 'recordUses', 'recordJobEnd', 'jobsWithFailures', 'recordEvent', 'finalizeAssignment'],
  inference: ['infer', 'inferAndScore', 'callAndScoreLocal', 'runShard', 'agentTurn', 'submitProviderBatch', 'pollProviderBatches', 'collectProviderBatch', 'cancelProviderBatch'],
  scoring: ['scoreAndStore', 'storeEpisode'],
} as const satisfies Record<string, ReadonlyArray<keyof Activities>>;
