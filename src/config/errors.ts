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
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/** `demo.yaml:12:5 models[0].provider.kind: expected one of openai, command, simulated`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
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
