import type { ScorerConfig } from '../config/schema';
import { ScorerError } from './types';
import type { Score } from './types';

/** Pure text scorers: exact, includes, regex, numeric, choice and token F1. No I/O, so plain functions. */

type Of<K extends ScorerConfig['kind']> = Extract<ScorerConfig, { kind: K }>;

/** Normalisation options shared by the string-comparing scorers. */
export interface NormalizeOptions {
  caseSensitive: boolean;
  ignorePunctuation: boolean;
  collapseWhitespace: boolean;
}

/** Applies the normalisation options to a text. */
export function normalize(text: string, o: NormalizeOptions): string {
  let out = text.normalize('NFKC');
  if (!o.caseSensitive) out = out.toLowerCase();
  if (o.ignorePunctuation) out = out.replace(/[\p{P}\p{S}]/gu, ' ');
  if (o.collapseWhitespace) out = out.replace(/\s+/g, ' ').trim();
  return out;
}

/** A target as the list of acceptable answers (a list target means "any of these"). */
export function targets(target: unknown): string[] {
  const list = Array.isArray(target) ? target : [target];
  return list.filter((t) => t !== undefined && t !== null).map((t) => (typeof t === 'string' ? t : JSON.stringify(t)));
}

function pass(ok: boolean, extracted?: string, explanation?: string): Score {
  const score: Score = { value: ok ? 1 : 0, passed: ok };
  if (extracted !== undefined) score.extracted = extracted;
  if (explanation !== undefined) score.explanation = explanation;
  return score;
}

/** Normalised prediction equals a target. */
export function scoreExact(c: Of<'exact'>, prediction: string, target: unknown): Score {
  const p = normalize(prediction, c);
  return pass(targets(target).some((t) => normalize(t, c) === p), p);
}

/** Normalised prediction contains a target. */
export function scoreIncludes(c: Of<'includes'>, prediction: string, target: unknown): Score {
  const p = normalize(prediction, c);
  return pass(targets(target).some((t) => p.includes(normalize(t, c))));
}

/** A regex group of the prediction, normalised, equals a target. */
export function scoreRegex(c: Of<'regex'>, prediction: string, target: unknown): Score {
  const match = new RegExp(c.pattern, c.flags).exec(prediction);
  const extracted = match?.[c.group];
  if (extracted === undefined) return pass(false, undefined, 'pattern did not match');
  const e = normalize(extracted, c);
  return pass(targets(target).some((t) => normalize(t, c) === e), extracted);
}

const NUMBER = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+/g;

/** The last number in a text ("1,234.5" reads as 1234.5), or undefined. */
export function lastNumber(text: string): number | undefined {
  const all = text.match(NUMBER);
  if (!all) return undefined;
  const value = Number(all[all.length - 1].replace(/,/g, ''));
  return Number.isFinite(value) ? value : undefined;
}

/** The last number of the prediction is within tolerance of the target. */
export function scoreNumeric(c: Of<'numeric'>, prediction: string, target: unknown): Score {
  const wanted = targets(target).map((t) => Number(t.replace(/,/g, '').trim()));
  if (wanted.length === 0 || wanted.some((t) => !Number.isFinite(t))) {
    throw new ScorerError(`numeric scorer: target ${JSON.stringify(target)} is not a number`, false);
  }
  const got = lastNumber(prediction);
  if (got === undefined) return pass(false, undefined, 'no number in the prediction');
  const ok = wanted.some((t) => Math.abs(got - t) <= c.absTolerance || Math.abs(got - t) <= c.relTolerance * Math.abs(t));
  return pass(ok, String(got));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The choice label a prediction picks: "Answer: B", "(B)", a leading "B.", or the last standalone label. */
export function extractChoice(prediction: string, choices: readonly string[]): string | undefined {
  const alt = choices.map(escapeRe).join('|');
  const patterns = [
    new RegExp(`answer\\s*(?:is|:)?\\s*\\(?(${alt})\\)?(?![\\w])`, 'i'),
    new RegExp(`^\\s*\\(?(${alt})\\)?(?:[.):\\s]|$)`),
    new RegExp(`\\((${alt})\\)`),
  ];
  for (const re of patterns) {
    const m = re.exec(prediction);
    if (m) return choices.find((ch) => ch.toLowerCase() === m[1].toLowerCase());
  }
  const all = [...prediction.matchAll(new RegExp(`(?<![\\w])(${alt})(?![\\w])`, 'g'))];
  return all.length > 0 ? all[all.length - 1][1] : undefined;
}

/**
 * The label a target names: a label itself (any case), or a 0-based index into the labels, as datasets
 * like MMLU store it (`answer: 2` is C of A-D). Anything else is an error: scoring it 0 would hide it.
 */
export function choiceLabel(choices: readonly string[], target: string): string {
  const t = target.trim();
  const label = choices.find((ch) => ch.toLowerCase() === t.toLowerCase());
  if (label !== undefined) return label;
  if (/^\d+$/.test(t) && Number(t) < choices.length) return choices[Number(t)];
  throw new ScorerError(`choice scorer: target ${JSON.stringify(target)} is neither one of the labels (${choices.join(', ')}) nor a 0-based index below ${choices.length}`, false);
}

/** The chosen label equals the target label (a target may also be a 0-based index of the labels). */
export function scoreChoice(c: Of<'choice'>, prediction: string, target: unknown): Score {
  const wanted = targets(target).map((t) => choiceLabel(c.choices, t));
  if (wanted.length === 0) throw new ScorerError('choice scorer: the sample has no target', false);
  const picked = extractChoice(prediction, c.choices);
  if (picked === undefined) return pass(false, undefined, 'no choice found in the prediction');
  return pass(wanted.includes(picked), picked);
}

function tokens(text: string): string[] {
  return normalize(text, { caseSensitive: false, ignorePunctuation: true, collapseWhitespace: true })
    .split(' ')
    .filter((t) => t !== '' && t !== 'a' && t !== 'an' && t !== 'the');
}

/** Token F1 between two texts (SQuAD-style: lowercased, punctuation and articles dropped). */
export function tokenF1(prediction: string, target: string): number {
  const p = tokens(prediction);
  const t = tokens(target);
  if (p.length === 0 || t.length === 0) return p.length === t.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const tok of t) counts.set(tok, (counts.get(tok) ?? 0) + 1);
  let common = 0;
  for (const tok of p) {
    const n = counts.get(tok) ?? 0;
    if (n > 0) {
      common++;
      counts.set(tok, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / t.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Best token F1 over the targets; passes at the threshold. */
export function scoreF1(c: Of<'f1'>, prediction: string, target: unknown): Score {
  const best = Math.max(0, ...targets(target).map((t) => tokenF1(prediction, t)));
  return { value: best, passed: best >= c.threshold };
}
