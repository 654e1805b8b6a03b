import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ScorerConfigSchema } from '../../../src/config/schema';
import { createScorer, extractChoice, lastNumber, parseGrade, scorerKind, ScorerError, tokenF1 } from '../../../src/scorers';
import type { Score } from '../../../src/scorers';

const sample = { index: 0, id: 's1', fields: { q: 'x' } };
const ctx = { signal: new AbortController().signal, env: process.env };
async function score(config: Record<string, unknown>, prediction: string, target: unknown): Promise<Score> {
  return createScorer(ScorerConfigSchema.parse(config)).score({ prediction, target, sample }, ctx);
}

type Row = [config: Record<string, unknown>, prediction: string, target: unknown, value: number, extracted?: string];
const TABLE: Row[] = [
  [{ kind: 'exact' }, 'Paris', 'Paris', 1],
  [{ kind: 'exact' }, '  paris. ', 'Paris', 1],
  [{ kind: 'exact', caseSensitive: true }, 'paris', 'Paris', 0],
  [{ kind: 'exact', ignorePunctuation: false }, 'Paris.', 'Paris', 0],
  [{ kind: 'exact' }, 'The capital is Paris', 'Paris', 0],
  [{ kind: 'exact' }, 'lyon', ['Paris', 'Lyon'], 1],
  [{ kind: 'exact' }, '42', 42, 1],
  [{ kind: 'includes' }, 'The capital is Paris!', 'paris', 1],
  [{ kind: 'includes' }, 'The capital is Lyon', 'Paris', 0],
  [{ kind: 'regex', pattern: 'ANSWER:\\s*(\\w+)', flags: 'i' }, 'thinking... answer: Paris', 'paris', 1, 'Paris'],
  [{ kind: 'regex', pattern: 'ANSWER:\\s*(\\w+)' }, 'no marker here', 'Paris', 0],
  [{ kind: 'regex', pattern: '\\d+', group: 0 }, 'it is 17 or 18', '17', 1, '17'],
  [{ kind: 'numeric' }, 'The answer is 1,234.', '1234', 1, '1234'],
  [{ kind: 'numeric' }, 'first 3, finally -520', '-520', 1, '-520'],
  [{ kind: 'numeric' }, '3.14159', '3.14', 0, '3.14159'],
  [{ kind: 'numeric', absTolerance: 0.01 }, '3.14159', '3.14', 1],
  [{ kind: 'numeric', relTolerance: 0.05 }, '104', 100, 1],
  [{ kind: 'numeric', relTolerance: 0.05 }, '106', 100, 0],
  [{ kind: 'numeric' }, 'no idea', '5', 0],
  [{ kind: 'choice' }, 'The answer is (C).', 'C', 1, 'C'],
  [{ kind: 'choice' }, 'B. Because it is largest', 'B', 1, 'B'],
  [{ kind: 'choice' }, 'Answer: d', 'D', 1, 'D'],
  [{ kind: 'choice' }, 'I think A is wrong, so B', 'B', 1, 'B'],
  [{ kind: 'choice' }, 'none of these', 'A', 0],
  [{ kind: 'choice', choices: ['yes', 'no'] }, 'no', 'no', 1, 'no'],
  [{ kind: 'choice' }, 'Answer: C', 2, 1, 'C'],
  [{ kind: 'choice' }, 'Answer: C', '2', 1, 'C'],
  [{ kind: 'choice' }, 'Answer: A', 0, 1, 'A'],
  [{ kind: 'choice' }, 'Answer: B', 2, 0, 'B'],
  [{ kind: 'f1' }, 'the cat sat', 'cat sat down', 0.8],
  [{ kind: 'f1' }, 'Paris', 'paris', 1],
  [{ kind: 'f1' }, 'London', 'Paris', 0],
];

describe('scorers', () => {
  for (const [config, prediction, target, value, extracted] of TABLE) {
    it(`${scorerKind(ScorerConfigSchema.parse(config))}: ${JSON.stringify(prediction)} vs ${JSON.stringify(target)} -> ${value}`, async () => {
      const s = await score(config, prediction, target);
      assert.ok(Math.abs(s.value - value) < 1e-9, `value ${s.value}`);
      if (extracted !== undefined) assert.equal(s.extracted, extracted);
      if (config.kind !== 'f1') assert.equal(s.passed, value === 1);
    });
  }

  it('f1 passes at its threshold', async () => {
    assert.equal((await score({ kind: 'f1', threshold: 0.8 }, 'the cat sat', 'cat sat down')).passed, true);
    assert.equal((await score({ kind: 'f1', threshold: 0.81 }, 'the cat sat', 'cat sat down')).passed, false);
  });

  it('numeric: a non-numeric target is a permanent ScorerError', async () => {
    await assert.rejects(score({ kind: 'numeric' }, '3', 'three'), (e: unknown) => e instanceof ScorerError && !e.retryable);
  });

  it('choice: a target that is neither a label nor an index is a permanent ScorerError, not a silent 0', async () => {
    await assert.rejects(score({ kind: 'choice' }, 'Answer: A', 'E'), (e: unknown) => e instanceof ScorerError && !e.retryable && /neither one of the labels \(A, B, C, D\) nor a 0-based index below 4/.test(e.message));
    await assert.rejects(score({ kind: 'choice' }, 'Answer: A', 4), (e: unknown) => e instanceof ScorerError);
  });

  it('helpers', () => {
    assert.equal(lastNumber('a 1e3 b'), 1000);
    assert.equal(lastNumber('.5'), 0.5);
    assert.equal(extractChoice('(b)', ['A', 'B']), undefined);
    assert.equal(tokenF1('', ''), 1);
    assert.equal(parseGrade('GRADE: I\nactually GRADE: c', ['C', 'P', 'I']), 'C');
    assert.equal(parseGrade('no grade', ['C']), undefined);
  });

  it('scorerKind names scorers for tables', () => {
    assert.equal(scorerKind(ScorerConfigSchema.parse({ kind: 'regex', pattern: '(\\d+)' })), 'regex /(\\d+)/');
    assert.equal(scorerKind(ScorerConfigSchema.parse({ kind: 'numeric', relTolerance: 0.05 })), 'numeric ±5%');
  });
});

const FAKE_MODEL = path.resolve(__dirname, '..', '..', 'fixtures', 'providers', 'fake-model.js');
const judge = (reply: string) => ({
  kind: 'judge',
  rubric: 'The answer names the right city.',
  model: { id: 'judge', provider: { kind: 'command', command: [process.execPath, FAKE_MODEL], env: { FIXTURE_MODE: 'reply', FIXTURE_REPLY: reply } } },
});

describe('judge and command scorers', () => {
  it('judge: maps the last GRADE through grades', async () => {
    const s = await score(judge('Mostly right.\nGRADE: P'), 'Paris, France?', 'Paris');
    assert.deepEqual([s.value, s.passed, s.extracted], [0.5, false, 'P']);
    const c = await score(judge('GRADE: C'), 'Paris', 'Paris');
    assert.deepEqual([c.value, c.passed], [1, true]);
  });

  it('judge: a reply without a grade is a retryable ScorerError', async () => {
    await assert.rejects(score(judge('I refuse to grade.'), 'x', 'y'), (e: unknown) => e instanceof ScorerError && e.retryable && /no GRADE line/.test(e.message));
  });

  it('command scorer: JSON in, score out', async () => {
    const script = path.resolve(__dirname, '..', '..', 'fixtures', 'scorers', 'overlap-scorer.js');
    const s = await score({ kind: 'command', command: [process.execPath, script] }, 'abc', 'abcd');
    assert.deepEqual(s, { value: 0.75, passed: false, explanation: 'sample s1' });
  });
});
