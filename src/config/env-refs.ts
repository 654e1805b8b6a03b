import { ErrorTypes } from '../contracts/errors';

/**
 * `${NAME}` references: configs, snapshots and workflow inputs carry the reference; the value is read
 * from the worker's environment only at the moment a call is made, and never stored.
 */

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A referenced variable is not set on this worker: retrying on the same worker cannot help. */
export class SecretMissingError extends Error {
  override name = 'SecretMissingError';
  readonly type = ErrorTypes.SecretMissing;
  readonly retryable = false;
  constructor(readonly variable: string) {
    super(`environment variable ${variable} is not set (referenced as \${${variable}})`);
  }
}

/** Names of every variable referenced anywhere in a value. */
export function envRefNames(value: unknown): string[] {
  const names = new Set<string>();
  walkStrings(value, (s) => {
    for (const m of s.matchAll(REF)) names.add(m[1]);
    return s;
  });
  return [...names];
}

/** Replaces `${NAME}` in every string of a value (deeply); throws SecretMissingError for an unset variable. */
export function resolveEnvRefs<T>(value: T, env: NodeJS.ProcessEnv): T {
  return walkStrings(value, (s) =>
    s.replace(REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw new SecretMissingError(name);
      return v;
    }),
  ) as T;
}

/**
 * Replaces the values of secret-looking variables found in text with `${NAME}`, for logs and errors.
 * Variables whose names look like secrets (KEY, TOKEN, SECRET, PASSWORD) or that are named in `names` count.
 */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv, names: readonly string[] = []): string {
  const wanted = new Set(names);
  const pairs = Object.entries(env)
    .filter(([k, v]) => v !== undefined && v.length >= 6 && (wanted.has(k) || /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i.test(k)))
    .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0));
  let out = text;
  for (const [k, v] of pairs) out = out.split(v as string).join(`\${${k}}`);
  return out;
}

function walkStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => walkStrings(v, fn));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walkStrings(v, fn);
    return out;
  }
  return value;
}
