import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Document, type Filter } from 'mongodb';

type Doc = Document & { _id: string };
import { startMongo, stopMongo } from '../../src/dev/stack';
import { findByIds, openStore } from '../../src/store/store';

/**
 * evalctl's build of FerretDB lets SQLite check string equality on top-level fields before FerretDB
 * filters in Go (src/dev/tools.ts pushDownStringFilters). The answers must be MongoDB's: a field equal to
 * the string or an array holding it matches; numbers, objects, missing fields and other strings
 * do not. Each query's answer is compared with the same filter worked out here over the inserted documents.
 * Without a FerretDB (an external MongoDB or mongod on PATH) the same answers are what MongoDB gives.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-ferretdb-filters-'));
let client: MongoClient | undefined;

after(async () => {
  await client?.close();
  await stopMongo(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

const DOCS: Doc[] = [
  { _id: 'scalar', a: 'x', b: 'y', n: 1 },
  { _id: 'other', a: 'z', b: 'y' },
  { _id: 'array', a: ['w', 'x'], b: 'y' },
  { _id: 'number', a: 5, b: 'y' },
  { _id: 'numeric-string', a: '5', b: 'y' },
  { _id: 'object', a: { inner: 'x' }, b: 'y' },
  { _id: 'missing', b: 'y' },
  { _id: 'quotes', a: 'say "x"\n', b: 'z', 'odd key': 'x' },
  { _id: 'unicode', a: 'ïx✓', b: 'y' },
];

/** MongoDB's equality of a top-level field with a string: the value, or one element of an array value. */
function matches(doc: Document, field: string, value: string): boolean {
  const v = doc[field] as unknown;
  return v === value || (Array.isArray(v) && v.some((e) => e === value));
}

test('string filters on top-level fields answer as MongoDB does, alone, together and with other conditions', async () => {
  const { state } = await startMongo({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'filters' });
  client = await MongoClient.connect(state.url);
  const col = client.db('filters').collection<Doc>('docs');
  await col.insertMany(DOCS);
  const ids = async (filter: Filter<Doc>): Promise<string[]> => (await col.find(filter).toArray()).map((d) => String(d._id)).sort();
  const expected = (pred: (d: Document) => boolean): string[] => DOCS.filter(pred).map((d) => String(d._id)).sort();

  for (const value of ['x', 'z', '5', 'w', 'ïx✓', 'say "x"\n', 'absent']) {
    assert.deepEqual(await ids({ a: value }), expected((d) => matches(d, 'a', value)), `{a: ${JSON.stringify(value)}}`);
  }
  assert.deepEqual(await ids({ a: 'x', b: 'y' }), expected((d) => matches(d, 'a', 'x') && matches(d, 'b', 'y')));
  assert.deepEqual(await ids({ b: 'z', 'odd key': 'x' }), ['quotes']);
  // A string condition next to one only Go evaluates (a number, an operator, a dotted path).
  assert.deepEqual(await ids({ b: 'y', n: 1 }), ['scalar']);
  assert.deepEqual(await ids({ b: 'y', a: { $in: ['z', 'w'] } }), ['array', 'other']);
  assert.deepEqual(await ids({ b: 'y', 'a.inner': 'x' }), ['object']);
  assert.deepEqual(await ids({ _id: 'scalar', a: 'x' }), ['scalar']);
  assert.deepEqual(await ids({ _id: 'scalar', a: 'z' }), []);

  // `_id` in a list: read from the _id index on evalctl's build; the answer is MongoDB's, duplicates and
  // ids that are not there included, and next to other conditions.
  assert.deepEqual(await ids({ _id: { $in: ['scalar', 'array', 'nothing', 'scalar'] } }), ['array', 'scalar']);
  assert.deepEqual(await ids({ _id: { $in: ['nothing'] } }), []);
  assert.deepEqual(await ids({ _id: { $in: ['scalar', 'other', 'array'] }, b: 'y', a: 'x' }), ['array', 'scalar']);
  assert.deepEqual(await ids({ _id: { $in: ['scalar', 'number'] }, a: { $in: [5] } }), ['number']);
  assert.deepEqual(await ids({ _id: { $nin: ['scalar'] }, a: 'x' }), ['array']);
  const store = await openStore(state.url);
  try {
    assert.equal(store.idsIn, true, 'evalctl\'s FerretDB build (or MongoDB) answers $in on _id from its index');
    const found = await findByIds(store, store.db.collection<Doc>('docs'), ['unicode', 'missing', 'gone']);
    assert.deepEqual(found.map((d) => d._id).sort(), ['missing', 'unicode']);
  } finally {
    await store.close();
  }

  // Counts, aggregations, updates and deletes take the same filters.
  assert.equal(await col.countDocuments({ b: 'y' }), DOCS.filter((d) => d.b === 'y').length);
  const grouped = await col.aggregate<{ _id: string; n: number }>([{ $match: { a: 'x' } }, { $group: { _id: '$b', n: { $sum: 1 } } }]).toArray();
  assert.deepEqual(grouped, [{ _id: 'y', n: 2 }]);
  const updated = await col.updateMany({ a: 'x' }, { $set: { seen: true } });
  assert.equal(updated.modifiedCount, 2);
  assert.deepEqual(await ids({ seen: true }), ['array', 'scalar']);
  const deleted = await col.deleteMany({ b: 'y', a: 'z' });
  assert.equal(deleted.deletedCount, 1);
  assert.deepEqual(await ids({ a: 'z' }), []);
  assert.equal(await col.countDocuments({}), DOCS.length - 1);
});
