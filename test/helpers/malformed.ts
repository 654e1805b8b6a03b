import { stringify } from 'yaml';

/**
 * A generated corpus of malformed assignment configs: every one must be rejected with exit code 2 and a
 * clear message. Each case is raw bytes (so binary garbage fits) and a category for the report.
 */
export interface MalformedCase {
  category: string;
  description: string;
  content: Buffer;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

/** Valid bases, one per provider kind, each pointing at `data.jsonl` next to the config. */
export const VALID_BASES: Record<string, { [k: string]: Json }> = {
  simulated: {
    name: 'ok',
    models: [{ id: 'm', provider: { kind: 'simulated', latencyMs: 0, accuracy: 0.5, errorRate: 0 }, concurrency: 2, params: { temperature: 0.5, maxTokens: 8 } }],
    tasks: [{ id: 't', dataset: { path: 'data.jsonl', limit: 5 }, prompt: '{{q}}', scorer: { kind: 'numeric', absTolerance: 0 } }],
    concurrency: { global: 4, jobs: 2 },
    retry: { maxAttempts: 3, initialIntervalMs: 100 },
    autoRetry: 1,
  },
  openai: {
    name: 'ok-openai',
    models: [{ id: 'o', provider: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt', apiKey: '${OPENAI_API_KEY}', api: 'chat' }, timeoutMs: 1000 }],
    tasks: [{ id: 't', dataset: { path: 'data.jsonl', shuffle: true, seed: 3 }, prompt: [{ role: 'user', content: '{{q}}' }], scorer: { kind: 'exact', caseSensitive: true } }],
  },
  command: {
    name: 'ok-command',
    models: [{ id: 'c', provider: { kind: 'command', command: ['/bin/echo', 'x'], env: { A: 'b' } } }],
    tasks: [{ id: 't', dataset: { path: 'data.jsonl', fields: { id: 'id', target: 'target' } }, prompt: 'Q: {{q}}', scorer: { kind: 'regex', pattern: '(\\d+)', group: 1 } }],
  },
};

/** The data file the bases point at. */
export const DATA_JSONL = `${[1, 2, 3, 4, 5].map((i) => JSON.stringify({ id: `s${i}`, q: `${i}+1`, target: String(i + 1) })).join('\n')}\n`;

const clone = (v: Json): Json => JSON.parse(JSON.stringify(v)) as Json;

/** Every path of a value (objects and arrays included, the root excluded). */
function paths(value: Json, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const keys: Array<string | number> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => {
    const child = (value as Record<string | number, Json>)[k];
    return [[...at, k], ...paths(child, [...at, k])];
  });
}

function setAt(root: Json, path: Path, value: Json | undefined): Json {
  const copy = clone(root);
  let node = copy as Record<string | number, Json>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

function getAt(root: Json, path: Path): Json {
  let node = root;
  for (const seg of path) node = (node as Record<string | number, Json>)[seg];
  return node;
}

const kindOf = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Values of every JSON type; each path gets those whose type differs from its own. */
const WRONG_VALUES: Json[] = [42, -7, 0.5, true, false, null, 'text', '', [], [1, 'a'], {}, { x: 1 }];

/** Numeric fields of the bases and the values each accepts by design (so a replacement in range is not malformed). */
const NUMBER_RULES: Record<string, (n: number) => boolean> = {
  accuracy: (n) => n >= 0 && n <= 1,
  errorRate: (n) => n >= 0 && n <= 1,
  temperature: (n) => n >= 0 && n <= 2,
  latencyMs: (n) => n >= 0,
  absTolerance: (n) => n >= 0,
  seed: (n) => Number.isInteger(n),
  autoRetry: (n) => Number.isInteger(n) && n >= 0 && n <= 10,
  group: (n) => n === 1,
};
const POSITIVE_INTS = ['concurrency', 'maxTokens', 'limit', 'global', 'jobs', 'maxAttempts', 'initialIntervalMs', 'timeoutMs'];

/** Whether a replacement is valid by design: free-text strings, numbers in range, flags. */
function acceptable(path: Path, value: Json): boolean {
  const last = String(path[path.length - 1]);
  const k = kindOf(value);
  if (k === 'string' && value !== '') return ['model', 'prompt', 'content', 'A'].includes(last) || (path.includes('command') && typeof path[path.length - 1] === 'number');
  if (k === 'number') {
    const n = value as number;
    if (POSITIVE_INTS.includes(last)) return Number.isInteger(n) && n > 0;
    return NUMBER_RULES[last]?.(n) ?? false;
  }
  if (k === 'boolean') return ['shuffle', 'caseSensitive'].includes(last);
  if (k === 'object') return last === 'env' && Object.keys(value as object).length === 0;
  return false;
}

const yamlOf = (v: Json): Buffer => Buffer.from(stringify(v, { aliasDuplicateObjects: false }));

function wrongTypes(baseName: string, base: Json): MalformedCase[] {
  const out: MalformedCase[] = [];
  for (const path of paths(base)) {
    const original = getAt(base, path);
    for (const value of WRONG_VALUES) {
      if (kindOf(value) === kindOf(original) && JSON.stringify(value) === JSON.stringify(original)) continue;
      if (kindOf(value) === kindOf(original) && kindOf(value) !== 'number') continue;
      if (acceptable(path, value)) continue;
      out.push({ category: 'wrong type', description: `${baseName} ${path.join('.')} = ${JSON.stringify(value)}`, content: yamlOf(setAt(base, path, value)) });
    }
  }
  return out;
}

/** Fields that have no default: removing one must be an error. */
const REQUIRED = new Set(['name', 'models', 'tasks', 'id', 'provider', 'kind', 'dataset', 'prompt', 'model', 'command', 'pattern', 'role', 'content', '0']);

function missingFields(baseName: string, base: Json): MalformedCase[] {
  return paths(base)
    .filter((p) => REQUIRED.has(String(p[p.length - 1])) && !p.includes('fields'))
    // Removing one item of a list that keeps others is not malformed.
    .filter((p) => typeof p[p.length - 1] !== 'number' || (getAt(base, p.slice(0, -1)) as Json[]).length === 1)
    .map((p) => ({ category: 'missing field', description: `${baseName} without ${p.join('.')}`, content: yamlOf(setAt(base, p, undefined)) }));
}

const UNKNOWN_KEYS = ['nmae', 'constructor', '__proto__', '$where', 'a.b', '', 'ключ', 'toString'];

function unknownKeys(baseName: string, base: Json): MalformedCase[] {
  const objects = [[] as Path, ...paths(base)].filter((p) => kindOf(p.length ? getAt(base, p) : base) === 'object');
  // `env` and `params`-like records accept any key by design.
  const strict = objects.filter((p) => !['env', 'headers', 'fields.map'].includes(String(p[p.length - 1])));
  return strict.flatMap((p) =>
    UNKNOWN_KEYS.map((key) => {
      const target = clone(base);
      const node = (p.length ? getAt(target, p) : target) as Record<string, Json>;
      Object.defineProperty(node, key, { value: 'surprise', enumerable: true, configurable: true, writable: true });
      return { category: 'unknown key', description: `${baseName} ${[...p, key].join('.')}`, content: yamlOf(target) };
    }),
  );
}

const HUGE = 'x'.repeat(200_000);

function hugeStrings(baseName: string, base: Json): MalformedCase[] {
  const targets = paths(base).filter((p) => !p.includes('fields')).filter((p) => ['name', 'id', 'kind', 'baseUrl', 'apiKey', 'role', 'api', 'path'].includes(String(p[p.length - 1])));
  const cases = targets.map((p) => ({ category: 'huge string', description: `${baseName} ${p.join('.')} of 200k chars`, content: yamlOf(setAt(base, p, HUGE)) }));
  cases.push({ category: 'huge string', description: `${baseName} 3 MB file`, content: Buffer.concat([yamlOf(base), Buffer.from(`description: "${'y'.repeat(3 * 1024 * 1024)}"\n`)]) });
  return cases;
}

function deepNesting(): MalformedCase[] {
  const out: MalformedCase[] = [];
  for (const depth of [50, 500, 5_000, 50_000]) {
    out.push({ category: 'deep nesting', description: `flow lists ${depth} deep at the root`, content: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}\n`) });
    out.push({ category: 'deep nesting', description: `flow maps ${depth} deep in name`, content: Buffer.from(`name: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\nmodels: []\ntasks: []\n`) });
    out.push({ category: 'deep nesting', description: `unclosed flow lists ${depth} deep`, content: Buffer.from(`name: x\nmodels: ${'['.repeat(depth)}\n`) });
    const block = Array.from({ length: Math.min(depth, 5_000) }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    out.push({ category: 'deep nesting', description: `block maps ${Math.min(depth, 5_000)} deep`, content: Buffer.from(`name: x\nmodels:\n${block} 1\n`) });
  }
  return out;
}

function aliasBombs(): MalformedCase[] {
  const laughs = (levels: number, width: number): string => {
    const lines = ['a0: &a0 "lol"'];
    for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
    return `${lines.join('\n')}\nname: x\n`;
  };
  const many = `base: &b {kind: simulated}\nname: x\nmodels:\n${Array.from({ length: 150 }, (_, i) => `  - {id: m${i}, provider: *b}`).join('\n')}\ntasks: []\n`;
  return [
    { category: 'alias bomb', description: 'billion laughs 9x9', content: Buffer.from(laughs(9, 9)) },
    { category: 'alias bomb', description: 'billion laughs 20x2', content: Buffer.from(laughs(20, 2)) },
    { category: 'alias bomb', description: 'laughs 30x10', content: Buffer.from(laughs(30, 10)) },
    { category: 'alias bomb', description: '150 aliases of one anchor', content: Buffer.from(many) },
    { category: 'alias bomb', description: 'alias to an undefined anchor', content: Buffer.from('name: *nope\n') },
    { category: 'alias bomb', description: 'merge-key bomb', content: Buffer.from(`a: &a {x: 1}\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} {<<: [${i === 0 ? '*a' : `*b${i - 1}, *b${i - 1}`}]}`).join('\n')}\nname: x\n`) },
  ];
}

/** A small seeded generator, so the corpus is the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function binaryGarbage(count: number): MalformedCase[] {
  const rand = seeded(8);
  const out: MalformedCase[] = [];
  for (let i = 0; i < count; i++) {
    const size = [0, 1, 7, 64, 1024, 65_536][i % 6] + Math.floor(rand() * 32);
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = Math.floor(rand() * 256);
    out.push({ category: 'binary garbage', description: `${size} random bytes #${i}`, content: bytes });
  }
  const prefixes: Array<[string, Buffer]> = [
    ['gzip header', Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0])], ['ELF header', Buffer.from('\x7fELF\x02\x01\x01', 'latin1')],
    ['UTF-16 BOM text', Buffer.from('\ufeffname: x', 'utf16le')], ['NUL bytes', Buffer.alloc(100)], ['invalid UTF-8', Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff])],
  ];
  for (const [what, bytes] of prefixes) out.push({ category: 'binary garbage', description: what, content: bytes });
  return out;
}

function syntaxAndShape(): MalformedCase[] {
  const texts: Array<[string, string]> = [
    ['empty file', ''], ['only a comment', '# nothing\n'], ['a scalar', 'hello\n'], ['a list', '- name: x\n'], ['null', '~\n'],
    ['two documents', 'name: a\n---\nname: b\n'], ['tab indentation', 'name: x\nmodels:\n\t- id: m\n'], ['unclosed quote', 'name: "x\n'],
    ['duplicate keys', 'name: a\nname: b\nmodels: []\ntasks: []\n'], ['js function tag', 'name: !!js/function "function(){}"\n'],
    ['custom tag', 'name: !secret x\n'], ['binary tag', 'name: !!binary aGVsbG8=\n'], ['set tag', 'name: !!set {a, b}\n'],
    ['NaN concurrency', `${stringify(VALID_BASES.simulated)}`.replace('global: 4', 'global: .nan')],
    ['infinite concurrency', `${stringify(VALID_BASES.simulated)}`.replace('global: 4', 'global: .inf')],
    ['1e400 concurrency', `${stringify(VALID_BASES.simulated)}`.replace('global: 4', 'global: 1e400')],
    ['huge integer concurrency', `${stringify(VALID_BASES.simulated)}`.replace('global: 4', 'global: 123456789012345678901234567890')],
    ['negative zero limit', `${stringify(VALID_BASES.simulated)}`.replace('limit: 5', 'limit: -0')],
    ['model reference with path traversal', 'name: x\nmodels: [../../etc/passwd]\ntasks: [t]\n'],
    ['task reference to a missing file', 'name: x\nmodels: [m]\ntasks: [nope]\n'],
    ['literal api key', stringify(VALID_BASES.openai).replace('${OPENAI_API_KEY}', 'sk-live-abcdef')],
    ['regex that does not compile', stringify(VALID_BASES.command).replace('(\\d+)', '(\\d+')],
    ['regex group out of range', stringify(VALID_BASES.command).replace('group: 1', 'group: 3')],
    ['dataset without extension', stringify(VALID_BASES.simulated).replace('data.jsonl', 'data')],
    ['dataset path is a folder', stringify(VALID_BASES.simulated).replace('data.jsonl', '.')],
    ['dataset file missing', stringify(VALID_BASES.simulated).replace('data.jsonl', 'missing.jsonl')],
    ['control characters', 'name: "a\u0001b"\n'], ['very long line of keys', `${Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`).join('\n')}\n`],
  ];
  return texts.map(([description, text]) => ({ category: 'syntax and shape', description, content: Buffer.from(text) }));
}

/** The whole corpus: at least 1,000 malformed configs over every category. */
export function malformedCorpus(): MalformedCase[] {
  const perBase = Object.entries(VALID_BASES).flatMap(([name, base]) => [...wrongTypes(name, base), ...missingFields(name, base), ...unknownKeys(name, base), ...hugeStrings(name, base)]);
  return [...perBase, ...deepNesting(), ...aliasBombs(), ...binaryGarbage(200), ...syntaxAndShape()];
}
