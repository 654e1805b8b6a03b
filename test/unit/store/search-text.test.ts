import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEARCH_INPUT_HEAD, SEARCH_INPUT_TAIL, SEARCH_PREDICTION_HEAD, SEARCH_PREDICTION_TAIL, searchTextOf, squashText } from '../../../src/store/search-text';

test('a short sample is searchable whole: lowercase, whitespace squashed, input and prediction apart', () => {
  assert.equal(searchTextOf('What is\n\n 2 +\t2?', ' Four\r\n'), 'what is 2 + 2?\tfour');
  assert.equal(searchTextOf(undefined, null), '\t');
  assert.equal(squashText('  A\n b  '), 'a b');
});

test('a long input keeps its beginning and its end; the text stays bounded and on one line', () => {
  const input = `INSTRUCTIONS ${'shared few-shot example. '.repeat(2000)} the question: what is the capital of Peru?`;
  const prediction = `Let me think.\n${'step. '.repeat(5000)}The answer is Lima.`;
  const text = searchTextOf(input, prediction);
  assert.ok(text.length <= SEARCH_INPUT_HEAD + SEARCH_INPUT_TAIL + SEARCH_PREDICTION_HEAD + SEARCH_PREDICTION_TAIL + 3, `${text.length} characters`);
  assert.ok(!/[\r\n]/.test(text));
  assert.ok(text.startsWith('instructions shared few-shot'));
  assert.ok(text.includes('what is the capital of peru?'));
  assert.ok(text.includes('let me think.'));
  assert.ok(text.endsWith('the answer is lima.'));
  // A search never matches across a cut: the pieces are apart by a tab, which squashed needles never hold.
  assert.equal(text.split('\t').length, 4);
});
