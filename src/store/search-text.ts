/**
 * The searchable text of a sample: what the viewer's text search (`?q=`) looks in. It is bounded, so it
 * can ride on every sample record and be stored per finished job in a few documents read by `_id`:
 * the beginning and the end of the input (a prompt's shared instructions come first, the sample's own
 * question last) and of the prediction, lowercase, every run of whitespace one space.
 */

/** Characters kept from the start of the input. */
export const SEARCH_INPUT_HEAD = 200;
/** Characters kept from the end of the input. */
export const SEARCH_INPUT_TAIL = 600;
/** Characters kept from the start of the prediction. */
export const SEARCH_PREDICTION_HEAD = 200;
/** Characters kept from the end of the prediction. */
export const SEARCH_PREDICTION_TAIL = 200;

/** Between the kept pieces: whitespace is squashed to spaces, so no search can match across a cut. */
const CUT = '\t';

/** Lowercase, every run of whitespace (newlines, tabs) one space: how texts and searches are compared. */
export function squashText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The first `head` and last `tail` characters of a text, squashed; the whole of it when it is short. */
function ends(text: unknown, head: number, tail: number): string {
  if (typeof text !== 'string' || text === '') return '';
  // Only the ends are squashed: a long text costs what a short one does.
  const whole = text.length <= 2 * (head + tail) ? squashText(text) : null;
  if (whole !== null && whole.length <= head + tail) return whole;
  const start = squashText(whole ?? text.slice(0, 2 * head)).slice(0, head).trimEnd();
  const end = squashText(whole ?? text.slice(-2 * tail)).slice(-tail).trimStart();
  return `${start}${CUT}${end}`;
}

/**
 * The searchable text of one sample from its input and prediction (either may be missing): at most
 * about 1,200 characters, without newlines, so a job's texts are stored as lines.
 */
export function searchTextOf(input: unknown, prediction: unknown): string {
  return `${ends(input, SEARCH_INPUT_HEAD, SEARCH_INPUT_TAIL)}${CUT}${ends(prediction, SEARCH_PREDICTION_HEAD, SEARCH_PREDICTION_TAIL)}`;
}
