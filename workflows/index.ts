/** The workflows a worker registers; the bundle is built from this file. */
export { assignmentWorkflow } from './assignment';
export { jobWorkflow } from './job';
export { sampleWorkflow } from './sample';
export { episodeWorkflow } from './episode';
export { shardWorkflow } from './shard';
