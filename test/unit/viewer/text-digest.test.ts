import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobTexts } from '../../../src/viewer/text-digest';

test('a search finds the lines whose text holds the needle, never a match inside a key', () => {
  const texts = new JobTexts('index', ['0\tquestion 12\tanswer 7\n12\tquestion 3\tanswer 4\n5\t\t', '7\tan answer: answer twice\t\n120\tnothing\t']);
  assert.deepEqual([...texts.keysMatching('12')].sort(), ['0']);
  assert.deepEqual([...texts.keysMatching('answer')].sort(), ['0', '12', '7']);
  assert.deepEqual([...texts.keysMatching('nothing')], ['120']);
  assert.deepEqual([...texts.keysMatching('absent')], []);
  const hit = texts.matcher('question 3');
  assert.deepEqual([0, 12, 5].filter((index) => hit({ index, sampleKey: 'k' })), [12]);
  assert.equal(texts.matcher('')({ index: 5, sampleKey: 'k' }), true);
});

test('texts read from the results are keyed by sample key', () => {
  const texts = JobTexts.ofSampleKeys([['abc', 'an input\ta prediction'], ['def', 'abc']]);
  const hit = texts.matcher('abc');
  assert.deepEqual(['abc', 'def'].filter((sampleKey) => hit({ index: 0, sampleKey })), ['def']);
});
