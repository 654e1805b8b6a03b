import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DatasetConfigSchema } from '../../../src/config/schema';
import { DatasetError, openDataset } from '../../../src/datasets';
import type { Sample } from '../../../src/datasets';
import { orderOf } from '../../../src/datasets/open';
import { permutation } from '../../../src/datasets/random';

let dir = '';
before(() => (dir = mkdtempSync(path.join(tmpdir(), 'evalctl-ds-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}
const config = (over: Record<string, unknown>) => DatasetConfigSchema.parse(over);
async function all(over: Record<string, unknown>): Promise<Sample[]> {
  const ds = await openDataset(config(over));
  const out: Sample[] = [];
  for await (const s of ds.iterate(2)) out.push(s);
  assert.equal(out.length, ds.count);
  return out;
}

describe('datasets', () => {
  it('JSONL: skips blank lines, reads ids and targets, numbers rows when there is no id', async () => {
    const p = file('a.jsonl', '{"id":"x","q":"1+1","target":"2"}\n\n   \n{"q":"2+2","target":4}\r\n{"q":"no target"}');
    const samples = await all({ path: p });
    assert.deepEqual(samples, [
      { index: 0, id: 'x', fields: { id: 'x', q: '1+1', target: '2' }, target: '2' },
      { index: 1, id: '1', fields: { q: '2+2', target: 4 }, target: 4 },
      { index: 2, id: '2', fields: { q: 'no target' } },
    ]);
  });

  it('CSV: quotes, doubled quotes, commas and newlines inside quotes; field mapping', async () => {
    const p = file('b.csv', 'key,text,label\nk1,"Hello, ""world""",pos\nk2,"line one\nline two",neg\n');
    const samples = await all({ path: p, fields: { id: 'key', target: 'label', map: { review: 'text' } } });
    assert.equal(samples.length, 2);
    assert.equal(samples[0].id, 'k1');
    assert.equal(samples[0].fields.review, 'Hello, "world"');
    assert.equal(samples[1].fields.review, 'line one\nline two');
    assert.equal(samples[1].target, 'neg');
  });

  it('JSON array and inline samples', async () => {
    const p = file('c.json', JSON.stringify([{ q: 'a', target: 'b' }, { q: 'c', target: 'd' }]));
    assert.deepEqual((await all({ path: p })).map((s) => s.target), ['b', 'd']);
    const inline = await all({ samples: [{ id: 's1', q: 'x', answer: 'y' }], fields: { target: 'answer' } });
    assert.deepEqual(inline, [{ index: 0, id: 's1', fields: { id: 's1', q: 'x', answer: 'y' }, target: 'y' }]);
  });

  it('seeded shuffle is a stable permutation; limit applies after it; ids stay the source row', async () => {
    const p = file('d.jsonl', Array.from({ length: 50 }, (_, i) => JSON.stringify({ n: i })).join('\n'));
    const plain = await all({ path: p });
    const a = await all({ path: p, shuffle: true, seed: 3 });
    const b = await all({ path: p, shuffle: true, seed: 3 });
    const c = await all({ path: p, shuffle: true, seed: 4 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.map((s) => s.id), c.map((s) => s.id));
    assert.notDeepEqual(a.map((s) => s.id), plain.map((s) => s.id));
    assert.deepEqual(a.map((s) => Number(s.id)).sort((x, y) => x - y), plain.map((s) => Number(s.id)));
    for (const s of a) assert.equal(s.fields.n, Number(s.id));
    const limited = await all({ path: p, shuffle: true, seed: 3, limit: 5 });
    assert.deepEqual(limited.map((s) => s.id), a.slice(0, 5).map((s) => s.id));
  });

  it('readPage returns the slice by position and nothing past the end', async () => {
    const p = file('e.jsonl', Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: i })).join('\n'));
    const ds = await openDataset(config({ path: p, limit: 8 }));
    assert.equal(ds.count, 8);
    assert.deepEqual((await ds.readPage(6, 5)).map((s) => [s.index, s.fields.n]), [[6, 6], [7, 7]]);
    assert.deepEqual(await ds.readPage(8, 5), []);
  });

  it('a malformed line is a DatasetError naming the file and the line', async () => {
    const p = file('f.jsonl', '{"a":1}\n\n{"a":2\n');
    const ds = await openDataset(config({ path: p }));
    await assert.rejects(ds.readPage(0, 2), (err: unknown) => {
      assert.ok(err instanceof DatasetError);
      assert.match(err.message, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: malformed JSON`));
      assert.equal(err.line, 3);
      return true;
    });
    const csv = file('g.csv', 'a,b\n1,2\n3\n');
    await assert.rejects((await openDataset(config({ path: csv }))).readPage(0, 2), /g\.csv:3: expected 2 columns, found 1/);
    await assert.rejects(openDataset(config({ path: file('h.csv', 'a,b\n"open,1\n') })), /h\.csv:2: unterminated quoted field/);
    await assert.rejects(openDataset(config({ path: file('i.jsonl', '[1,2]\n') })).then((d) => d.readPage(0, 1)), /i\.jsonl:1: expected a JSON object/);
  });

  it('content hash follows the bytes; an edited file is re-indexed (cache keyed by mtime and size)', async () => {
    const p = file('j.jsonl', '{"a":1}\n');
    const first = await openDataset(config({ path: p }));
    assert.equal(first.contentHash, (await openDataset(config({ path: p }))).contentHash);
    writeFileSync(p, '{"a":1}\n{"a":2}\n');
    const second = await openDataset(config({ path: p }));
    assert.equal(second.count, 2);
    assert.notEqual(second.contentHash, first.contentHash);
    assert.notEqual((await openDataset(config({ path: p, limit: 1 }))).viewHash, second.viewHash);
  });

  it('a 1,000,000-line file: counts it and reads the last page without loading it', async () => {
    const p = path.join(dir, 'million.jsonl');
    const fd = openSync(p, 'w');
    for (let start = 0; start < 1_000_000; start += 10_000) {
      let chunk = '';
      for (let i = start; i < start + 10_000; i++) chunk += `{"id":"s${i}","q":"What is ${i} + 1?","target":"${i + 1}"}\n`;
      writeSync(fd, chunk);
    }
    closeSync(fd);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const ds = await openDataset(config({ path: p }));
    const page = await ds.readPage(999_998, 10);
    const rssDelta = process.memoryUsage().rss - rssBefore;
    process.stdout.write(`# 1M-line index: ${Date.now() - started} ms, RSS delta ${(rssDelta / 1048576).toFixed(1)} MiB\n`);
    assert.equal(ds.count, 1_000_000);
    assert.deepEqual(page.map((s) => [s.index, s.id, s.target]), [[999_998, 's999998', '999999'], [999_999, 's999999', '1000000']]);
    const shuffled = await openDataset(config({ path: p, shuffle: true, seed: 1 }));
    const [one] = await shuffled.readPage(500_000, 1);
    assert.equal(one.target, String(Number(one.id.slice(1)) + 1));
  });
});

describe('shuffle orders', () => {
  it('are built once per dataset size and seed, and are the seeded permutation', () => {
    const first = orderOf(1000, 7);
    assert.equal(orderOf(1000, 7), first, 'the same order object: not rebuilt for every read');
    assert.deepEqual([...first], [...permutation(1000, 7)]);
    assert.notEqual(orderOf(1000, 8), first);
    assert.notEqual(orderOf(999, 7), first);
    assert.deepEqual([...first].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  });
});
