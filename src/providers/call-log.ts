import { appendFileSync } from 'node:fs';

/** Env variable naming a file that receives one JSON line per simulated call start and end. */
export const CALL_LOG_ENV = 'EVALCTL_SIMULATED_CALL_LOG';

/** An entry of the call log. Tests in other processes count calls from it (say, to prove no duplicates). */
export interface CallLogEntry {
  event: 'start' | 'end' | 'error' | 'abort';
  sampleKey: string;
  model: string;
  t: number;
  pid: number;
  [extra: string]: unknown;
}

/**
 * Appends one line synchronously, so a crash right after the call still leaves it on disk and lines
 * from concurrent processes never interleave mid-line (each append is one small write).
 */
export function logCall(env: NodeJS.ProcessEnv, entry: Omit<CallLogEntry, 't' | 'pid'> & Record<string, unknown>): void {
  const file = env[CALL_LOG_ENV];
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ ...entry, t: Date.now(), pid: process.pid })}\n`);
}
