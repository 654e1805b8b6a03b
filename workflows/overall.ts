import { proxyActivities } from '@temporalio/workflow';
import type { TaskActivities } from '../activities';
import { environmentQueue, type JobWorkflowInput } from '../src/contracts';

/**
 * Asks a task worker of an agent job's environment for its overall metric over the job's episodes
 * (AgentBench's calculate_overall), stored on the job. Best effort: a job never fails for want of it.
 */
export async function environmentOverall(input: JobWorkflowInput): Promise<void> {
  const agent = input.job.agent;
  if (!agent) return;
  const acts = proxyActivities<TaskActivities>({
    taskQueue: environmentQueue(agent.environment),
    scheduleToCloseTimeout: '2m',
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 3 },
  });
  try {
    await acts.environmentOverall({ assignmentId: input.assignmentId, jobId: input.job.jobId, taskId: input.job.taskId, modelId: input.job.modelId });
  } catch {
    // No task worker answered, or the environment has no overall metric: per-episode results stand.
  }
}
