/** Metrics: aggregates with 95% confidence intervals, percentiles, token and cost totals. */
export { aggregate, percentile, wilson, tInterval, tQuantile975, bootstrapInterval } from './aggregate';
export type { Aggregate, ScoreValue } from './aggregate';
export { costOf, sumUsage } from './cost';
export type { TokenUsage } from './cost';
export { aggregateEpochs, epochPassed, passAtK, reduceEpochs } from './reduce';
