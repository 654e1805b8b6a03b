import type { EpisodeMessage } from '../contracts';
import type { EpisodeOutput, SampleIndex } from './types';

/** Pure helpers over finished episodes: a score from the environment's result, and AgentBench's output shape. */

/** A score as results store it. */
export interface EpisodeScore {
  value: number;
  passed: boolean;
  explanation?: string;
}

/** Why a completed episode scored 0 without a verdict. */
export const NO_VERDICT = "the environment's result has no numeric score or verdict (see the environment's overall metric)";

/**
 * The score of an episode judged by its environment (the default scorer): only a `completed` episode
 * can pass. A numeric result, or a result's `score`, is the value; a boolean result, or a result's
 * `success`, `passed`, `correct` or `result` flag, gives 1 or 0. A completed episode whose result says
 * nothing of either scores 0, not passed, with NO_VERDICT as its explanation.
 */
export function scoreFromResult(status: string, result: unknown): EpisodeScore {
  if (status !== 'completed') return { value: 0, passed: false };
  if (typeof result === 'number') return { value: result, passed: result > 0 };
  if (typeof result === 'boolean') return { value: result ? 1 : 0, passed: result };
  if (result !== null && typeof result === 'object') {
    const r = result as Record<string, unknown>;
    if (typeof r.score === 'number') return { value: r.score, passed: r.score > 0 };
    for (const key of ['success', 'passed', 'correct', 'result']) {
      if (typeof r[key] === 'boolean') return { value: r[key] ? 1 : 0, passed: r[key] as boolean };
    }
  }
  return { value: 0, passed: false, explanation: NO_VERDICT };
}

/** Statuses of an ended episode that AgentBench counts in calculate_overall (a crashed task is an error, not a run). */
export function countsForOverall(status: string): boolean {
  return status !== 'running' && status !== 'task error';
}

/** A finished episode as AgentBench's calculate_overall takes it: its final history, the model under the `agent` role. */
export function episodeOutput(index: SampleIndex, status: string, result: unknown, transcript: EpisodeMessage[]): EpisodeOutput {
  return {
    index, status, result: result ?? null,
    history: transcript.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? 'agent' : 'user', content: m.content })),
  };
}

/** The model's last message of an episode: what an optional scorer judges. */
export function lastAgentMessage(transcript: EpisodeMessage[]): string {
  for (let i = transcript.length - 1; i >= 0; i--) if (transcript[i].role === 'assistant') return transcript[i].content;
  return '';
}
