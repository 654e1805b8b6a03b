import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DatasetConfigSchema, ModelConfigSchema, TaskConfigSchema } from '../../../src/config/schema';
import { DatasetError, openDataset } from '../../../src/datasets';
import { hfSplitFiles } from '../../../src/datasets/hf';
import { keyedSamples } from '../../../src/plan/samples';
import { writeParquet } from '../../../scripts/bench/parquet';

let dir = '';
before(() => (dir = mkdtempSync(path.join(tmpdir(), 'evalctl-parquet-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

// Columns named as a Hugging Face dataset names them, with an integer id and a nested field.
const rows = Array.from({ length: 23 }, (_, i) => ({ idx: i, question: `What is ${i} + ${i}?`, answer: String(2 * i), meta: { level: i % 3, tags: ['math'] } }));
const jsonl = (name: string, list: ReadonlyArray<Record<string, unknown>>): string => {
  const file = path.join(dir, name);
  writeFileSync(file, `${list.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
};
const model = ModelConfigSchema.parse({ id: 'sim', provider: { kind: 'simulated' } });
const task = (dataset: Record<string, unknown>) => TaskConfigSchema.parse({ id: 't', prompt: 'Q: {{q}}', dataset });
const view = { fields: { id: 'idx', target: 'answer', map: { q: 'question' } }, limit: 17, shuffle: true, seed: 4 };
const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('Parquet datasets', () => {
  it('give the same samples and sample keys as JSONL of the same rows (field mapping, limit, shuffle)', async () => {
    const pq = path.join(dir, 'same.parquet');
    await writeParquet(pq, rows, { rowGroupSize: 5 });
    const fromJsonl = await keyedSamples(model, task({ path: jsonl('same.jsonl', rows), ...view }), all(17));
    const fromParquet = await keyedSamples(model, task({ path: pq, format: 'parquet', ...view }), all(17));
    assert.equal(fromParquet.size, 17);
    for (const i of all(17)) {
      assert.deepEqual(fromParquet.get(i)?.sample, fromJsonl.get(i)?.sample, `sample ${i}`);
      assert.equal(fromParquet.get(i)?.sampleKey, fromJsonl.get(i)?.sampleKey);
    }
    assert.equal(typeof fromParquet.get(0)?.sample.fields.idx, 'number', 'INT64 is read as a number');
    const ds = await openDataset(DatasetConfigSchema.parse({ path: pq, ...view }));
    assert.equal(ds.count, 17, 'format from the extension, limit applied');
    const order = (await ds.readPage(0, 17)).map((s) => s.id);
    assert.notDeepEqual(order, [...order].sort((a, b) => Number(a) - Number(b)), 'shuffled');
  });

  it('reads pages across row groups, and gzip-compressed files (codecs come from hyparquet-compressors)', async () => {
    const gz = path.join(dir, 'gzip.parquet');
    await writeParquet(gz, rows, { rowGroupSize: 4, codec: 'GZIP', compressors: { GZIP: (b) => new Uint8Array(gzipSync(b)) } });
    const ds = await openDataset(DatasetConfigSchema.parse({ path: gz, fields: { id: 'idx', target: 'answer' } }));
    assert.equal(ds.count, 23);
    const page = await ds.readPage(3, 10);
    assert.deepEqual(page.map((s) => s.fields.question), rows.slice(3, 13).map((r) => r.question));
    assert.deepEqual(page[0].target, '6');
  });

  it('a file that is not Parquet is a dataset error naming it', async () => {
    const bad = path.join(dir, 'bad.parquet');
    writeFileSync(bad, 'not parquet at all');
    await assert.rejects(openDataset(DatasetConfigSchema.parse({ path: bad })), (err: unknown) => err instanceof DatasetError && err.message.includes('bad.parquet'));
  });
});

describe('Hugging Face dataset folders', () => {
  it('read a split of the hub layout data/<split>-*.parquet in shard order, like one JSONL of its rows', async () => {
    const repo = path.join(dir, 'hub');
    mkdirSync(path.join(repo, 'data'), { recursive: true });
    writeFileSync(path.join(repo, 'README.md'), '---\nconfigs: []\n---\n');
    await writeParquet(path.join(repo, 'data', 'test-00001-of-00002.parquet'), rows.slice(10), { rowGroupSize: 6 });
    await writeParquet(path.join(repo, 'data', 'test-00000-of-00002.parquet'), rows.slice(0, 10), { rowGroupSize: 6 });
    await writeParquet(path.join(repo, 'data', 'train-00000-of-00001.parquet'), rows.slice(0, 3));
    const fromJsonl = await keyedSamples(model, task({ path: jsonl('hub.jsonl', rows), ...view }), all(17));
    const fromHf = await keyedSamples(model, task({ path: repo, format: 'hf', split: 'test', ...view }), all(17));
    for (const i of all(17)) assert.equal(fromHf.get(i)?.sampleKey, fromJsonl.get(i)?.sampleKey, `sample ${i}`);
    await assert.rejects(hfSplitFiles(repo, {}), /several splits in subset default: set dataset.split to one of test, train/);
    await assert.rejects(hfSplitFiles(repo, { split: 'validation' }), /no split "validation" in subset default: set dataset.split to one of test, train/);
  });

  it('read the converted layout <subset>/<split>/*.parquet; several subsets need dataset.subset', async () => {
    const repo = path.join(dir, 'converted');
    for (const subset of ['easy', 'hard']) {
      mkdirSync(path.join(repo, subset, 'validation'), { recursive: true });
      await writeParquet(path.join(repo, subset, 'validation', '0000.parquet'), rows.filter((r) => (subset === 'easy') === (r.idx < 8)));
    }
    await assert.rejects(hfSplitFiles(repo, {}), /several subsets: set dataset.subset to one of easy, hard/);
    const ds = await openDataset(DatasetConfigSchema.parse({ path: repo, subset: 'easy', fields: { id: 'idx', target: 'answer' } }));
    assert.equal(ds.count, 8, 'a folder is format hf; its only split is used');
  });

  it('a save_to_disk folder (Arrow files) is refused with what to do instead', async () => {
    const saved = path.join(dir, 'saved');
    mkdirSync(saved);
    writeFileSync(path.join(saved, 'state.json'), '{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}');
    writeFileSync(path.join(saved, 'dataset_info.json'), '{}');
    await assert.rejects(openDataset(DatasetConfigSchema.parse({ path: saved, format: 'hf' })), /save_to_disk \(Arrow files\).*to_parquet/);
  });
});

describe('the shipped Hugging Face folder example', () => {
  it('configs/datasets/arithmetic-hf holds the rows of arithmetic.jsonl: the same sample keys', async () => {
    const configs = path.resolve(__dirname, '..', '..', '..', '..', 'configs');
    const prompt = [{ role: 'system', content: 'Answer with a single number.' }, { role: 'user', content: '{{question}}' }];
    const of = (dataset: Record<string, unknown>) => TaskConfigSchema.parse({ id: 'arithmetic', prompt, scorer: { kind: 'numeric' }, dataset });
    const fromJsonl = await keyedSamples(model, of({ path: path.join(configs, 'datasets', 'arithmetic.jsonl') }), all(120));
    const fromHf = await keyedSamples(model, of({ path: path.join(configs, 'datasets', 'arithmetic-hf'), format: 'hf', split: 'test' }), all(120));
    assert.deepEqual([...fromHf.values()].map((k) => k.sampleKey), [...fromJsonl.values()].map((k) => k.sampleKey));
  });
});
