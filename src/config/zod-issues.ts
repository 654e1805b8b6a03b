import type { z } from 'zod';
import type { PathSegment } from './errors';

/** A zod issue reduced to what people need: where (a path, maybe a key in it) and what is wrong. */
export interface PlainIssue {
  path: PathSegment[];
  /** For unknown keys: the key, so the location points at it. */
  key?: string;
  message: string;
}

type Issue = z.core.$ZodIssue;

/** Turns zod issues into one plain issue each, picking the branch a union value was meant for. */
export function plainIssues(issues: readonly Issue[], data: unknown, base: PathSegment[] = []): PlainIssue[] {
  const out: PlainIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], key, message: 'unknown key' });
    } else if (issue.code === 'invalid_union') {
      out.push(...unionIssues(issue, path, data));
    } else {
      out.push({ path, message: messageFor(issue, valueAt(data, path)) });
    }
  }
  return out;
}

function unionIssues(issue: Extract<Issue, { code: 'invalid_union' }>, path: PathSegment[], data: unknown): PlainIssue[] {
  const withOptions = issue as typeof issue & { note?: string; options?: unknown[] };
  if (withOptions.note === 'No matching discriminator' && withOptions.options) {
    return [{ path, message: `expected one of ${withOptions.options.map(String).join(', ')}` }];
  }
  if (valueAt(data, path) === undefined) return [{ path, message: 'required' }];
  if (issue.message && issue.message !== 'Invalid input') return [{ path, message: issue.message }];
  // A branch whose failures are all inside the value (not "wrong type here") is the one the user meant.
  const meant = issue.errors.filter((branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'));
  if (meant.length === 1) return plainIssues(meant[0], data, path);
  const expected = issue.errors.flatMap((b) => b.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected));
  return [{ path, message: `expected ${[...new Set(expected)].join(' or ')}, got ${typeName(valueAt(data, path))}` }];
}

function messageFor(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'required';
      return `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, got ${typeName(value)}`;
    case 'too_small':
      return boundMessage(issue.origin, 'at least', issue.inclusive ? '>=' : '>', issue.minimum);
    case 'too_big':
      return boundMessage(issue.origin, 'at most', issue.inclusive ? '<=' : '<', issue.maximum);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return `expected a URL, got ${JSON.stringify(value)}`;
      return issue.message;
    default:
      return issue.message;
  }
}

function boundMessage(origin: string, word: string, op: string, bound: number | bigint): string {
  if (origin === 'array' || origin === 'set') return `must have ${word} ${bound} item${Number(bound) === 1 ? '' : 's'}`;
  if (origin === 'string') return Number(bound) === 1 && word === 'at least' ? 'must not be empty' : `must have ${word} ${bound} characters`;
  return `must be ${op} ${bound}`;
}

/** JSON-ish name of a value's type, as people see YAML values. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return typeof value === 'number' ? `number ${value}` : typeof value;
}

/** The value at a path, or undefined. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return cur;
}
