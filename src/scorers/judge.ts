import type { ModelConfig, ScorerConfig } from '../config/schema';
import { canonicalJson, sha256Hex } from '../config/canonical';
import { createProvider } from '../providers';
import type { Provider } from '../providers';
import { targets } from './text';
import { ScorerError } from './types';
import type { Score, ScoreContext, ScoreInput, Scorer } from './types';

type JudgeConfig = Extract<ScorerConfig, { kind: 'judge' }>;

/** LLM-as-judge: another model reads the rubric, the reference and the answer, and ends with `GRADE: <x>`. */
export class JudgeScorer implements Scorer {
  private readonly provider: Provider;
  private readonly model: ModelConfig;

  constructor(private readonly config: JudgeConfig) {
    if (typeof config.model === 'string') {
      throw new ScorerError(`judge model "${config.model}" was not expanded; load the config with loadAssignmentFile`, false);
    }
    this.model = config.model;
    this.provider = createProvider(config.model);
  }

  /** Asks the judge once and maps its grade through `grades`; a reply without a grade is retryable. */
  async score(input: ScoreInput, ctx: ScoreContext): Promise<Score> {
    const prompt = judgePrompt(this.config, input);
    const reply = await this.provider.infer(
      {
        sampleKey: sha256Hex(canonicalJson({ judge: this.config.rubric, prediction: input.prediction, target: input.target })),
        messages: [{ role: 'user', content: prompt }],
        prompt,
        params: this.model.params,
      },
      ctx,
    );
    const grade = parseGrade(reply.text, Object.keys(this.config.grades));
    if (grade === undefined) {
      throw new ScorerError(`judge reply has no GRADE line with one of ${Object.keys(this.config.grades).join(', ')}: ${JSON.stringify(reply.text.slice(-200))}`, true);
    }
    const value = this.config.grades[grade];
    return { value, passed: value >= this.config.passThreshold, extracted: grade, explanation: reply.text.slice(0, 2000) };
  }
}

/** The judge's instructions for one prediction. */
export function judgePrompt(config: Pick<JudgeConfig, 'rubric' | 'grades'>, input: ScoreInput): string {
  const grades = Object.entries(config.grades)
    .map(([g, v]) => `${g} (${v})`)
    .join(', ');
  return [
    'You are grading an answer against a rubric.',
    `Rubric:\n${config.rubric}`,
    `Task input:\n${JSON.stringify(input.sample.fields)}`,
    `Reference answer:\n${targets(input.target).join(' | ') || '(none)'}`,
    `Answer to grade:\n${input.prediction}`,
    `Explain briefly, then end with a line "GRADE: <grade>" where <grade> is one of ${grades}.`,
  ].join('\n\n');
}

/** The last `GRADE: x` in a reply, matched case-insensitively against the allowed grades. */
export function parseGrade(reply: string, allowed: readonly string[]): string | undefined {
  const all = [...reply.matchAll(/GRADE\s*[:=]\s*\**\s*([A-Za-z0-9.+-]+)/gi)];
  for (let i = all.length - 1; i >= 0; i--) {
    const found = allowed.find((g) => g.toLowerCase() === all[i][1].toLowerCase());
    if (found !== undefined) return found;
  }
  return undefined;
}
