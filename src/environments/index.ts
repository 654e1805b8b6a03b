/** Environments of agent tasks: the interface, the module and AgentBench kinds, and agent task samples. */
export * from './types';
export { environmentFor, environmentIdentity } from './registry';
export { openTaskSamples, describeSamples, environmentIndexOf, agentPlanOf, checkEnvironments } from './samples';
export { scoreFromResult, episodeOutput, lastAgentMessage, countsForOverall, NO_VERDICT, type EpisodeScore } from './episode';
export { classifyAnswer, detailOf, type AgentBenchFault } from './agentbench-protocol';
