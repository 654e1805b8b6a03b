import type { ScorerConfig } from '../config/schema';
import { CommandScorer } from './command';
import { JudgeScorer } from './judge';
import { scoreChoice, scoreExact, scoreF1, scoreIncludes, scoreNumeric, scoreRegex } from './text';
import type { Score, Scorer } from './types';

/** Scorers: how a prediction is compared with its target. */
export type { Score, ScoreContext, ScoreInput, Scorer } from './types';
export { ScorerError } from './types';
export { normalize, lastNumber, extractChoice, tokenF1, targets } from './text';
export { parseGrade, judgePrompt, JudgeScorer } from './judge';
export { CommandScorer } from './command';

function pure(fn: (prediction: string, target: unknown) => Score): Scorer {
  return { score: async ({ prediction, target }) => fn(prediction, target) };
}

/** The scorer for a scorer config. */
export function createScorer(config: ScorerConfig): Scorer {
  switch (config.kind) {
    case 'exact':
      return pure((p, t) => scoreExact(config, p, t));
    case 'includes':
      return pure((p, t) => scoreIncludes(config, p, t));
    case 'regex':
      return pure((p, t) => scoreRegex(config, p, t));
    case 'numeric':
      return pure((p, t) => scoreNumeric(config, p, t));
    case 'choice':
      return pure((p, t) => scoreChoice(config, p, t));
    case 'f1':
      return pure((p, t) => scoreF1(config, p, t));
    case 'judge':
      return new JudgeScorer(config);
    case 'command':
      return new CommandScorer(config);
  }
}

/** A short human description of a scorer, for tables: `exact`, `regex /(\d+)/`, `judge(gpt-judge)`. */
export function scorerKind(config: ScorerConfig): string {
  switch (config.kind) {
    case 'regex':
      return `regex /${config.pattern}/${config.flags}`;
    case 'numeric':
      return config.relTolerance > 0 ? `numeric ±${config.relTolerance * 100}%` : 'numeric';
    case 'judge':
      return `judge(${typeof config.model === 'string' ? config.model : config.model.id})`;
    case 'command':
      return `command(${config.command[0]})`;
    default:
      return config.kind;
  }
}
