import { workflowInfo } from '@temporalio/workflow';

/** Events a job-level workflow records before it continues as new, well before the service's history limits. */
export const MAX_JOB_HISTORY_EVENTS = 8_000;

/** True when the running workflow should continue as new: the server suggests it, or its history passed the limit. */
export function historyIsLarge(maxEvents: number = MAX_JOB_HISTORY_EVENTS): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > maxEvents;
}
