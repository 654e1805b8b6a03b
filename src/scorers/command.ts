import type { ScorerConfig } from '../config/schema';
import { resolveEnvRefs } from '../config/env-refs';
import { runCommand } from '../providers';
import { ScorerError } from './types';
import type { Score, ScoreContext, ScoreInput, Scorer } from './types';

type CommandConfig = Extract<ScorerConfig, { kind: 'command' }>;

/**
 * A program as a scorer: {prediction, target, sample} as JSON on stdin, {value, passed?, extracted?,
 * explanation?} as JSON on stdout. Same process rules as the command provider (no shell, killed on abort).
 */
export class CommandScorer implements Scorer {
  constructor(private readonly config: CommandConfig) {}

  /** Runs the program once for the prediction. */
  async score(input: ScoreInput, ctx: ScoreContext): Promise<Score> {
    const stdout = await runCommand({
      argv: this.config.command,
      input: JSON.stringify({ prediction: input.prediction, target: input.target ?? null, sample: input.sample }),
      env: { ...ctx.env, ...resolveEnvRefs(this.config.env, ctx.env) },
      timeoutMs: this.config.timeoutMs,
      signal: ctx.signal,
      what: `command scorer ${this.config.command[0]}`,
    });
    let out: { value?: unknown; passed?: unknown; extracted?: unknown; explanation?: unknown };
    try {
      out = JSON.parse(stdout) as typeof out;
    } catch {
      throw new ScorerError(`command scorer did not print JSON: ${JSON.stringify(stdout.slice(0, 200))}`, false);
    }
    if (typeof out?.value !== 'number' || !Number.isFinite(out.value)) throw new ScorerError('command scorer printed no numeric "value"', false);
    const score: Score = { value: out.value };
    if (typeof out.passed === 'boolean') score.passed = out.passed;
    if (typeof out.extracted === 'string') score.extracted = out.extracted;
    if (typeof out.explanation === 'string') score.explanation = out.explanation;
    return score;
  }
}
