import type { EpisodeMessage } from '../contracts';
import type { EpisodeOutput, SampleIndex } from './types';

/** Pure helpers over finished episodes: a score from the environment's result, and AgentBench's output shape. */

/** A score as results store it. */
export interface EpisodeScore {
  value: number;
  passed: boolean;
}

/**
 * The score of an episode judged by its environment: only a `completed` episode can pass. A numeric
 * result, or a result's `score`, is the value; a boolean result, or a result's `success`, `passed` or
 * `correct`, gives 1 or 0; a completed episode whose result says nothing of either scores 1.
 */
export function scoreFromResult(status: string, result: unknown): EpisodeScore {
  if (status !== 'completed') return { value: 0, passed: false };
  if (typeof result === 'number') return { value: result, passed: result > 0 };
  if (typeof result === 'boolean') return { value: result ? 1 : 0, passed: result };
  if (result !== null && typeof result === 'object') {
    const r = result as Record<string, unknown>;
    if (typeof r.score === 'number') return { value: r.score, passed: r.score > 0 };
    for (const key of ['success', 'passed', 'correct']) {
      if (typeof r[key] === 'boolean') return { value: r[key] ? 1 : 0, passed: r[key] as boolean };
    }
  }
  return { value: 1, passed: true };
}

/** A finished episode as AgentBench's calculate_overall takes it: the model's turns under the `agent` role. */
export function episodeOutput(index: SampleIndex, status: string, result: unknown, transcript: EpisodeMessage[]): EpisodeOutput {
  return {
    index, status, result: result ?? null,
    history: transcript.map((m) => ({ role: m.role === 'assistant' ? 'agent' : 'user', content: m.content })),
  };
}

/** The model's last message of an episode: what an optional scorer judges. */
export function lastAgentMessage(transcript: EpisodeMessage[]): string {
  for (let i = transcript.length - 1; i >= 0; i--) if (transcript[i].role === 'assistant') return transcript[i].content;
  return '';
}
