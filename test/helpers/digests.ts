import assert from 'node:assert/strict';
import { readJobTexts, textPartId } from '../../src/store/digests';
import { searchTextOf } from '../../src/store/search-text';
import { findByIds, type Store } from '../../src/store/store';
import { JobTexts } from '../../src/viewer/text-digest';

/**
 * Checks the text digest finalisation stored for a finished job: its parts exist, stamped for the job as
 * it is now, and hold one line per sample record with the searchable text of that sample's result (the
 * viewer's fallback reads the same texts from the results). Returns the stored texts, for searches.
 */
export async function assertStoredTexts(store: Store, assignmentId: string, jobId: string): Promise<JobTexts> {
  const job = await store.jobs.findOne({ _id: `${assignmentId}/${jobId}` });
  assert.ok(job, `job ${jobId} of ${assignmentId}`);
  assert.ok(await store.digests.findOne({ _id: textPartId(job, 0) }), `${jobId}: part 0 of the text digest is stored`);
  const parts = await readJobTexts(store, job);
  assert.ok(parts, `${jobId}: the stored text digest is complete and current`);
  const records = await store.samples.find({ assignmentId, jobId }, { projection: { index: 1, sampleKey: 1, status: 1 } }).toArray();
  const results = new Map((await findByIds(store, store.results, records.map((r) => r.sampleKey), { input: 1, prediction: 1 })).map((r) => [r._id, r]));
  const stored = new Map(parts.join('\n').split('\n').map((line) => [Number(line.slice(0, line.indexOf('\t'))), line.slice(line.indexOf('\t') + 1)]));
  const expected = new Map(records.filter((r) => r.status !== 'canceled').map((r) => [r.index, searchTextOf(results.get(r.sampleKey)?.input, results.get(r.sampleKey)?.prediction)]));
  assert.deepEqual([...stored].sort((a, b) => a[0] - b[0]), [...expected].sort((a, b) => a[0] - b[0]), `${jobId}: one line per sample with its result's text`);
  return new JobTexts('index', parts);
}

/** The sample indexes whose stored text holds `needle` (as the viewer's search finds them), ascending. */
export function searchIndexes(texts: JobTexts, needle: string): number[] {
  return [...texts.keysMatching(needle)].map(Number).sort((a, b) => a - b);
}
