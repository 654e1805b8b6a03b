import type { EpisodeOutput, ModuleSession, ModuleTurn, SampleIndex } from '../types';

/**
 * The built-in example environment (`module: builtin:number-guess`): the agent guesses a secret whole
 * number, told "higher" or "lower" after each guess. The secret is derived from the sample index and the
 * seed, and the checker is exact, so an episode's outcome depends only on the agent's replies.
 * Options: count (samples, default 20), max (default 100), maxGuesses (default 7), seed (default 0).
 */

interface Game {
  secret: number;
  low: number;
  high: number;
  guesses: number;
}

interface Options {
  count: number;
  max: number;
  maxGuesses: number;
  seed: number;
}

const games = new Map<string, Game>();
let nextSession = 1;

function optionsOf(raw: Record<string, unknown>): Options {
  const num = (key: string, fallback: number): number => (typeof raw[key] === 'number' ? (raw[key] as number) : fallback);
  return { count: num('count', 20), max: Math.max(2, num('max', 100)), maxGuesses: num('maxGuesses', 7), seed: num('seed', 0) };
}

/** The secret of one sample: a fixed hash of (seed, index) onto 1..max. */
export function secretOf(index: number, seed: number, max: number): number {
  let h = (Math.imul(index + 1, 2654435761) ^ Math.imul(seed + 7, 40503)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
  return 1 + (h % max);
}

/** Sample indices 0..count-1. */
export function indices(raw: Record<string, unknown>): SampleIndex[] {
  return Array.from({ length: optionsOf(raw).count }, (_, i) => i);
}

/** Starts a game for one sample. */
export function start(index: SampleIndex, raw: Record<string, unknown>): ModuleSession {
  const o = optionsOf(raw);
  const game: Game = { secret: secretOf(Number(index), o.seed, o.max), low: 1, high: o.max, guesses: 0 };
  const session = `guess-${process.pid}-${nextSession++}`;
  games.set(session, game);
  const intro = `I am thinking of a whole number between 1 and ${o.max}. You have ${o.maxGuesses} guesses. Reply with one number only.`;
  return { session, status: 'running', messages: [{ role: 'user', content: intro }], expected: String(middle(game)) };
}

/** Checks one guess: the last number in the reply. */
export function step(session: string, content: string, raw: Record<string, unknown>): ModuleTurn {
  const game = games.get(session);
  if (!game) throw new Error(`no game ${session}`);
  const o = optionsOf(raw);
  game.guesses += 1;
  const numbers = content.match(/-?\d+/g);
  const guess = numbers ? Number(numbers[numbers.length - 1]) : NaN;
  if (guess === game.secret) return end(session, 'completed', `Correct: it is ${game.secret}.`, true, game);
  if (game.guesses >= o.maxGuesses) return end(session, 'task limit reached', `Out of guesses: it was ${game.secret}.`, false, game);
  let feedback: string;
  if (Number.isNaN(guess)) feedback = 'That is not a number. Reply with one number only.';
  else if (guess < game.secret) {
    game.low = Math.max(game.low, guess + 1);
    feedback = `Higher than ${guess}.`;
  } else {
    game.high = Math.min(game.high, guess - 1);
    feedback = `Lower than ${guess}.`;
  }
  return { status: 'running', messages: [{ role: 'user', content: feedback }], expected: String(middle(game)) };
}

/** Forgets a game. */
export function cancel(session: string): void {
  games.delete(session);
}

/** Success rate and mean guesses of successful games, the way an AgentBench task reports its overall. */
export function calculateOverall(results: EpisodeOutput[]): Record<string, number> {
  const won = results.filter((r) => (r.result as { success?: boolean } | null)?.success === true);
  const guesses = won.map((r) => (r.result as { guesses: number }).guesses);
  return {
    total: results.length,
    success_rate: results.length === 0 ? 0 : won.length / results.length,
    mean_guesses: guesses.length === 0 ? 0 : guesses.reduce((a, b) => a + b, 0) / guesses.length,
  };
}

function middle(game: Game): number {
  return Math.floor((game.low + game.high) / 2);
}

function end(session: string, status: string, message: string, success: boolean, game: Game): ModuleTurn {
  games.delete(session);
  return { status, messages: [{ role: 'user', content: message }], result: { success, guesses: game.guesses, secret: game.secret } };
}
