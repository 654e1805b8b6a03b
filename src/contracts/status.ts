/** Lifecycle states shared by MongoDB documents, search attributes and the CLI. */

export const ASSIGNMENT_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed', 'canceled'] as const;
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];

/** States an assignment or job never leaves. */
export const TERMINAL_STATUSES: readonly AssignmentStatus[] = ['completed', 'failed', 'canceled'];

/** How one sample of one assignment ended. `reused` means a stored success was taken instead of a model call. */
export type SampleStatus = 'succeeded' | 'failed' | 'canceled' | 'reused';

/** Counts per job and assignment, kept by workflows and mirrored in MongoDB. */
export interface Counts {
  total: number;
  succeeded: number;
  failed: number;
  reused: number;
  canceled: number;
  running: number;
}

/** A zeroed Counts for a given total. */
export function emptyCounts(total = 0): Counts {
  return { total, succeeded: 0, failed: 0, reused: 0, canceled: 0, running: 0 };
}

/** Whether a status is final. */
export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * How stale a worker's copy of an assignment's pause and cancel flags may be: shard runners read them at
 * most this often per assignment and process, and `pause` returns only after this long, so no model call
 * starts once it has returned.
 */
export const HOLD_FLAGS_MAX_AGE_MS = 500;
