/**
 * Generates the demo datasets in configs/datasets/ from a fixed seed: our own synthetic content
 * (arithmetic, capitals of made-up countries, multiple choice, sentiment), no third-party text.
 * Run: node dist/scripts/make-datasets.js   (output is byte-identical on every run; arithmetic-hf/ is the
 * arithmetic rows as a Hugging Face dataset folder of Parquet shards)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../src/datasets/random';
import { writeParquet } from './bench/parquet';

type Rand = () => number;

const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)];
const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** Arithmetic word-free questions with integer answers. */
export function arithmetic(n: number, rand: Rand): object[] {
  const ops = ['+', '-', '*'] as const;
  return Array.from({ length: n }, (_, i) => {
    const op = pick(rand, ops);
    const a = op === '*' ? int(rand, 2, 30) : int(rand, 10, 999);
    const b = op === '*' ? int(rand, 2, 30) : int(rand, 10, 999);
    const answer = op === '+' ? a + b : op === '-' ? a - b : a * b;
    return { id: `arith-${String(i).padStart(4, '0')}`, question: `What is ${a} ${op} ${b}?`, target: String(answer) };
  });
}

const SYLLABLES = ['ka', 'lo', 'mir', 'ven', 'tha', 'dor', 'qui', 'sel', 'bra', 'nu', 'zor', 'eli', 'pan', 'rus', 'tov', 'gal'];

function word(rand: Rand, parts: number): string {
  const w = Array.from({ length: parts }, () => pick(rand, SYLLABLES)).join('');
  return w[0].toUpperCase() + w.slice(1);
}

/** Capitals of invented countries: the facts exist only in this dataset, so nothing is memorised. */
export function capitals(n: number, rand: Rand): object[] {
  const seen = new Set<string>();
  const rows: object[] = [];
  while (rows.length < n) {
    const country = `${word(rand, 2)}${pick(rand, ['ia', 'land', 'stan', 'or', 'ea'])}`;
    if (seen.has(country)) continue;
    seen.add(country);
    const capital = word(rand, int(rand, 2, 3));
    const id = `cap-${String(rows.length).padStart(4, '0')}`;
    rows.push({ id, context: `The capital of ${country} is ${capital}.`, country, target: capital });
  }
  return rows;
}

/** Multiple choice: which of four numbers is largest / smallest / even. */
export function multipleChoice(n: number, rand: Rand): object[] {
  const letters = ['A', 'B', 'C', 'D'];
  return Array.from({ length: n }, (_, i) => {
    const kind = pick(rand, ['largest', 'smallest'] as const);
    const values = new Set<number>();
    while (values.size < 4) values.add(int(rand, 1, 500));
    const options = [...values];
    const best = kind === 'largest' ? Math.max(...options) : Math.min(...options);
    const row: Record<string, string> = { id: `mc-${String(i).padStart(4, '0')}`, question: `Which number is the ${kind}?` };
    options.forEach((v, k) => (row[letters[k]] = String(v)));
    row.target = letters[options.indexOf(best)];
    return row;
  });
}

const NOUNS = ['soup', 'train ride', 'concert', 'hotel room', 'book', 'lecture', 'bicycle', 'museum visit', 'phone', 'garden'];
const POSITIVE = ['wonderful', 'delightful', 'excellent', 'charming', 'superb', 'pleasant'];
const NEGATIVE = ['awful', 'disappointing', 'dreadful', 'tedious', 'broken', 'unpleasant'];

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Sentiment of short invented reviews, as CSV (quoted cells included on purpose). */
export function sentimentCsv(n: number, rand: Rand): string {
  const lines = ['id,text,label'];
  for (let i = 0; i < n; i++) {
    const positive = rand() < 0.5;
    const noun = pick(rand, NOUNS);
    const adj = pick(rand, positive ? POSITIVE : NEGATIVE);
    const text = rand() < 0.3 ? `Honestly, the ${noun} was ${adj}, "really".` : `The ${noun} was ${adj}.`;
    lines.push([`sent-${String(i).padStart(4, '0')}`, text, positive ? 'positive' : 'negative'].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

const jsonl = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function main(): Promise<void> {
  const out = path.resolve(__dirname, '..', '..', 'configs', 'datasets');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'arithmetic.jsonl'), jsonl(arithmetic(120, mulberry32(1))));
  // The same rows as a Hugging Face dataset folder in the Hub's layout (two shards of the test split).
  const rows = arithmetic(120, mulberry32(1)) as Array<Record<string, unknown>>;
  const hf = path.join(out, 'arithmetic-hf', 'data');
  mkdirSync(hf, { recursive: true });
  await writeParquet(path.join(hf, 'test-00000-of-00002.parquet'), rows.slice(0, 60), { rowGroupSize: 25 });
  await writeParquet(path.join(hf, 'test-00001-of-00002.parquet'), rows.slice(60), { rowGroupSize: 25 });
  writeFileSync(path.join(out, 'capitals.jsonl'), jsonl(capitals(80, mulberry32(2))));
  writeFileSync(path.join(out, 'multiple-choice.jsonl'), jsonl(multipleChoice(60, mulberry32(3))));
  writeFileSync(path.join(out, 'sentiment.csv'), sentimentCsv(80, mulberry32(4)));
  process.stderr.write(`wrote 340 samples to ${path.relative(process.cwd(), out)}\n`);
}

if (require.main === module) void main();
