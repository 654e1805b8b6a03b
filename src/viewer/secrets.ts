/**
 * Config snapshots keep secrets as `${NAME}` references, so they are safe to show. This is the second
 * line: a value under a secret-sounding key that is not a reference, and a password inside a URL, are
 * hidden anyway before a snapshot is rendered (a config written before references were enforced, say).
 */

const SECRET_KEY = /(api[-_]?key|token|secret|password|passwd|authorization|credential|cookie)/i;
const REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/;

/** What a hidden value is replaced with. */
export const HIDDEN = '[hidden: not a ${NAME} reference]';

/** A copy of a config snapshot with literal secrets hidden and URL passwords masked. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key) && value !== '' && !REFERENCE.test(value)) return HIDDEN;
    return value.replace(/\/\/([^:@/\s]+):([^@/\s]+)@/g, '//$1:***@');
  }
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
