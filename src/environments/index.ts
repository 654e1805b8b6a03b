/** Environments of agent tasks: the interface, the module and AgentBench kinds, and agent task samples. */
export * from './types';
export { environmentFor, environmentIdentity } from './registry';
export { openTaskSamples, describeSamples, environmentIndexOf, agentPlanOf } from './samples';
export { scoreFromResult, episodeOutput, lastAgentMessage, type EpisodeScore } from './episode';
