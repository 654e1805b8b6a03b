import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import { ConfigError } from './errors';
import type { PathSegment } from './errors';

/** Largest config file read: configs are small; anything bigger is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 2 * 1024 * 1024;
/** Aliases allowed per document: enough for sharing a block, far too few for a billion-laughs bomb. */
export const MAX_ALIAS_COUNT = 100;
/** Deepest flow nesting accepted: configs nest a few levels; thousands overflow the parser's stack. */
export const MAX_FLOW_DEPTH = 200;

/**
 * Deepest nesting of flow collections (`[`, `{`) outside quoted strings and comments: a cheap scan done
 * before parsing, so a deeply nested file gets a clear message instead of a stack overflow.
 */
export function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return max;
}

/** A parsed YAML file that can say where any path in it is. */
export interface YamlSource {
  /** Absolute path of the file, or a label like `<command line>`. */
  absPath: string;
  /** The name shown in errors (relative to the working directory when that is shorter). */
  display: string;
  doc?: Document;
  lineCounter?: LineCounter;
  value: unknown;
}

/** Name shown in error messages. */
export function displayName(absPath: string): string {
  const rel = path.relative(process.cwd(), absPath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absPath;
}

/** Reads and parses a YAML file; syntax errors, oversize files and alias bombs become ConfigErrors. */
export async function readYamlSource(file: string): Promise<YamlSource> {
  const absPath = path.resolve(file);
  const display = displayName(absPath);
  const fail = (message: string, line = 0, column = 0): ConfigError =>
    new ConfigError([{ file: display, line, column, path: '', message }]);
  let stat;
  try {
    stat = await fs.stat(absPath);
  } catch {
    throw fail('file not found');
  }
  if (!stat.isFile()) throw fail('not a file');
  if (stat.size > MAX_CONFIG_BYTES) throw fail(`file is ${stat.size} bytes; configs are limited to ${MAX_CONFIG_BYTES}`);
  const text = await fs.readFile(absPath, 'utf8');
  if (flowDepth(text) > MAX_FLOW_DEPTH) throw fail(`nested more than ${MAX_FLOW_DEPTH} levels deep; configs are limited to that`);
  const lineCounter = new LineCounter();
  // The parser's own uniqueKeys check is quadratic (minutes for a file of many keys): checked below instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const errors = [...doc.errors.map((e) => ({ at: e.pos[0], message: readable(e.message) })), ...(doc.errors.length ? [] : duplicateKeys(doc))];
  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((e) => {
        const pos = lineCounter.linePos(e.at);
        return { file: display, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${e.message}` };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw fail(`YAML: ${readable(err instanceof Error ? err.message : String(err))}`);
  }
  return { absPath, display, doc, lineCounter, value };
}

/**
 * 1-based line and column of the node at `docPath`, or of its nearest existing ancestor.
 * With `key`, the location of the key itself (for unknown keys).
 */
export function locate(source: YamlSource, docPath: readonly PathSegment[], key?: string): { line: number; column: number } {
  if (!source.doc || !source.lineCounter) return { line: 0, column: 0 };
  let node: unknown = source.doc.contents;
  let offset = rangeStart(node) ?? 0;
  const segs = key === undefined ? docPath : [...docPath, key];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      if (key !== undefined && i === segs.length - 1) next = pair.key;
      else next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    }
    const start = rangeStart(next);
    if (start === undefined) break;
    node = next;
    offset = start;
  }
  const pos = source.lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

/** Repeated scalar keys of every mapping, in one pass with a set per mapping (linear in the file). */
function duplicateKeys(doc: Document): Array<{ at: number; message: string }> {
  const found: Array<{ at: number; message: string }> = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const id = `${typeof pair.key.value}:${String(pair.key.value)}`;
        if (seen.has(id)) found.push({ at: pair.key.range?.[0] ?? 0, message: 'Map keys must be unique' });
        seen.add(id);
      }
    },
  });
  return found;
}

/** The first line of a parser message; a stack overflow (nesting the depth scan missed) said for people. */
function readable(message: string): string {
  if (/Maximum call stack size exceeded/.test(message)) return `nested too deeply (more than the parser can follow)`;
  return message.split('\n')[0];
}
