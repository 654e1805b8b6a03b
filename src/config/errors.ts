import { ErrorTypes } from '../contracts/errors';

/** One problem in a config: where it is and what is wrong. `line`/`column` are 1-based; 0 when unknown. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

/** A config that cannot work as written. Its message lists every issue, one line each, for people. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly type = ErrorTypes.ConfigInvalid;
  readonly retryable = false;
  /** `total` counts issues found but not listed (too many to locate); it defaults to the list's length. */
  constructor(
    readonly issues: ConfigIssue[],
    readonly total: number = issues.length,
  ) {
    const shown = issues.slice(0, MAX_ISSUES_SHOWN).map(formatIssue);
    if (total > shown.length) shown.push(`... and ${total - shown.length} more issues`);
    super(shown.join('\n'));
  }
}

/** Issues listed in a message: a garbage file yields thousands, and people need the first few. */
export const MAX_ISSUES_SHOWN = 20;
/** Longest issue line: a value quoted from a huge string or a binary file is cut, not printed whole. */
export const MAX_ISSUE_CHARS = 400;

/** `demo.yaml:12:5 models[0].provider.kind: expected one of openai, command, simulated`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  const line = issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
  // Control characters from binary input would garble the terminal; show them escaped.
  const printable = line.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return printable.length <= MAX_ISSUE_CHARS ? printable : `${printable.slice(0, MAX_ISSUE_CHARS)}... (${printable.length - MAX_ISSUE_CHARS} more characters)`;
}

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

/** `models[0].provider.kind` from ['models', 0, 'provider', 'kind']. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
