import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';
import { runCli } from '../helpers/cli';
import { runInProcess } from '../helpers/in-process';
import { leafCommands, malformedValues, MALFORMED_IDS, UNKNOWN_ID } from '../helpers/cli-tree';
import { collectionCounts, allExecutions } from '../helpers/inspect';
import { DATA_JSONL, VALID_BASES, malformedCorpus } from '../helpers/malformed';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv } from '../helpers/workers';
import { waitFor } from '../helpers/wait';
import { writeWorkload } from '../helpers/assignments';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-bad-input-'));
const CASE_TIMEOUT_MS = 15_000;
let store: Store | undefined;
let temporal: TemporalHandle | undefined;
const saved = { ...process.env };

writeFileSync(join(dir, 'data.jsonl'), DATA_JSONL);

/** In-process commands read their connection from the environment, like the real CLI (hooks run before this). */
function pointAtStack(): void {
  Object.assign(process.env, stackEnv(getStack()));
}

after(async () => {
  process.env = saved;
  await Promise.allSettled([store?.close(), temporal?.close()]);
});

/** A rejection people can act on: exit 2, `error:` first, the file named, no stack trace, nothing on stdout. */
function assertRejected(res: { code: number; stdout: string; stderr: string }, file: string, what: string): void {
  const context = `${what}\n--- stderr:\n${res.stderr.slice(0, 600)}`;
  assert.equal(res.code, 2, `exit code of ${context}`);
  assert.ok(res.stderr.startsWith('error: '), `message of ${context}`);
  assert.ok(res.stderr.includes(basename(file)), `the file is named in ${context}`);
  assert.doesNotMatch(res.stderr, /\n\s+at .+:\d+:\d+\)?\n|TypeError|RangeError|ReferenceError|Maximum call stack/, `no stack trace or crash in ${context}`);
  assert.equal(res.stdout, '', `nothing on stdout for ${context}`);
  assert.ok(res.stderr.length < 20_000, `a readable message (not ${res.stderr.length} chars) for ${context}`);
}

test('the bases of the corpus are valid, so each mutation is what makes a case malformed', async () => {
  pointAtStack();
  for (const [name, base] of Object.entries(VALID_BASES)) {
    const file = join(dir, `base-${name}.yaml`);
    writeFileSync(file, stringify(base));
    const res = await runInProcess(['validate', file, '--json']);
    assert.equal(res.code, 0, `${name}: ${res.stderr}`);
  }
});

test('>= 1,000 malformed configs: validate and start each exit 2 with a clear message, in bounded time', async () => {
  pointAtStack();
  const corpus = malformedCorpus();
  assert.ok(corpus.length >= 1000, `corpus of ${corpus.length}`);
  const perCategory = new Map<string, number>();
  let slowest = { ms: 0, what: '' };
  const casesDir = join(dir, 'cases');
  mkdirSync(casesDir);
  for (let i = 0; i < corpus.length; i++) {
    const c = corpus[i];
    const file = join(casesDir, `case-${String(i).padStart(4, '0')}.yaml`);
    writeFileSync(file, c.content);
    for (const command of ['validate', 'start']) {
      const res = await runInProcess([command, file], CASE_TIMEOUT_MS);
      assertRejected(res, file, `${command} on ${c.category}: ${c.description.slice(0, 120)}`);
      assert.ok(res.ms < CASE_TIMEOUT_MS, `${command} on ${c.description.slice(0, 80)} took ${res.ms} ms`);
      if (res.ms > slowest.ms) slowest = { ms: res.ms, what: `${command} ${c.description.slice(0, 60)}` };
    }
    perCategory.set(c.category, (perCategory.get(c.category) ?? 0) + 1);
  }
  const summary = [...perCategory].map(([k, n]) => `${k} ${n}`).join(', ');
  process.stderr.write(`bad input: ${corpus.length} malformed configs rejected by validate and start (${summary}); slowest ${slowest.ms} ms (${slowest.what})\n`);
});

test('a sample of the corpus through real processes: exit 2, clear message, no stack trace', async () => {
  pointAtStack();
  const corpus = malformedCorpus();
  const env = stackEnv(getStack());
  const picks = corpus.filter((_, i) => i % Math.floor(corpus.length / 8) === 0).slice(0, 8);
  for (const [i, c] of picks.entries()) {
    const file = join(dir, `proc-${i}.yaml`);
    writeFileSync(file, c.content);
    for (const command of ['validate', 'start']) {
      assertRejected(await runCli([command, file], { env, timeoutMs: 30_000 }), file, `${command} (process) on ${c.description.slice(0, 100)}`);
    }
  }
});

/** Malformed dataset files, each next to a config that is otherwise valid. */
const BAD_DATASETS: Array<{ name: string; file: string; content?: string | Buffer; expect: RegExp }> = [
  { name: 'a JSONL line that is not JSON', file: 'bad-line.jsonl', content: '{"q": "1", "target": "1"}\n{"q": "2", "target": "2"}\n{"q": 3, oops}\n', expect: /bad-line\.jsonl:3: malformed JSON/ },
  { name: 'a JSONL line that is an array', file: 'array-line.jsonl', content: '{"q": "1"}\n[1, 2]\n', expect: /array-line\.jsonl:2: expected a JSON object/ },
  { name: 'a JSONL line that is a number', file: 'number-line.jsonl', content: '7\n', expect: /number-line\.jsonl:1: expected a JSON object/ },
  { name: 'an empty JSONL file', file: 'empty.jsonl', content: '', expect: /empty\.jsonl.*(no samples|empty)/ },
  { name: 'binary garbage as JSONL', file: 'garbage.jsonl', content: Buffer.from([0xff, 0xfe, 0x00, 0x8b, 0x0a, 0x01, 0x02]), expect: /garbage\.jsonl:1: malformed JSON/ },
  { name: 'a CSV row with too many columns', file: 'ragged.csv', content: 'q,target\n1,1\n2,2,extra\n', expect: /ragged\.csv:3: expected 2 columns, found 3/ },
  { name: 'a CSV with an unclosed quote', file: 'quote.csv', content: 'q,target\n"1,1\n', expect: /quote\.csv:2/ },
  { name: 'an empty CSV', file: 'empty.csv', content: '', expect: /empty\.csv: empty CSV file/ },
  { name: 'a JSON file that is not an array', file: 'object.json', content: '{"q": 1}', expect: /object\.json: expected a JSON array/ },
  { name: 'a JSON array of numbers', file: 'numbers.json', content: '[1, 2]', expect: /numbers\.json \[0\].*expected a JSON object/ },
  { name: 'truncated JSON', file: 'truncated.json', content: '[{"q": 1}, {"q"', expect: /truncated\.json: malformed JSON/ },
  { name: 'a missing dataset file', file: 'missing.jsonl', expect: /not found: .*missing\.jsonl/ },
];

test('malformed dataset files: validate and start exit 2 naming the file and line; nothing started', async () => {
  pointAtStack();
  for (const ds of BAD_DATASETS) {
    if (ds.content !== undefined) writeFileSync(join(dir, ds.file), ds.content);
    const config = join(dir, `dataset-${ds.file.replace(/\W/g, '-')}.yaml`);
    const base = VALID_BASES.simulated as { tasks: Array<{ dataset: Record<string, unknown> }> };
    writeFileSync(config, stringify({ ...base, tasks: [{ ...base.tasks[0], dataset: { path: ds.file } }] }));
    for (const command of ['validate', 'start']) {
      const res = await runInProcess([command, config], CASE_TIMEOUT_MS);
      assert.equal(res.code, 2, `${command} with ${ds.name}: ${res.stderr}`);
      assert.match(res.stderr, /^error: /);
      assert.match(res.stderr, ds.expect, `${command} with ${ds.name}`);
      assert.doesNotMatch(res.stderr, /\n\s+at .+:\d+:\d+/);
    }
  }
});

/** Commands that would start something long-running if a bad flag slipped through: run as processes with a deadline. */
const SPAWNED = new Set(['worker', 'workers start', 'dev up', 'dev down', 'dev status', 'dev tools']);

test('every CLI command: unknown flags, extra arguments, malformed and unknown ids, malformed option values exit 2', async (t) => {
  pointAtStack();
  const devDir = join(dir, 'dev-data');
  const env = stackEnv(getStack(), { EVALCTL_DEV_DIR: devDir });
  t.after(async () => void (await runCli(['dev', 'down', '--data-dir', devDir], { env, timeoutMs: 60_000 })));
  const exportDir = join(dir, 'export-out');
  let checked = 0;
  const failures: string[] = [];
  for (const leaf of leafCommands()) {
    const name = leaf.words.join(' ');
    const fill = (arg: { name: string }): string => (arg.name === 'type' ? 'all' : arg.name === 'config' ? join(dir, 'base-simulated.yaml') : UNKNOWN_ID);
    const required = leaf.args.filter((a) => a.required).map(fill);
    const cases: string[][] = [[...required, '--no-such-flag'], [...leaf.args.map(fill), 'extra1', 'extra2']];
    for (const [i, arg] of leaf.args.entries()) {
      const others = leaf.args.map(fill);
      if (arg.name === 'id') for (const id of [...MALFORMED_IDS, UNKNOWN_ID]) cases.push(others.map((v, j) => (j === i ? id : v)));
      if (arg.name === 'type') for (const type of ['bogus', '', 'x'.repeat(300)]) cases.push(others.map((v, j) => (j === i ? type : v)));
    }
    const idOrAll = leaf.words[0] === 'cancel' ? ['--all'] : [];
    for (const opt of leaf.options) {
      for (const value of malformedValues(opt)) cases.push([...required, ...idOrAll, opt.long ?? opt.short ?? '', value]);
      if (opt.required) cases.push([...required, ...idOrAll, opt.long ?? '']);
    }
    for (const args of cases) {
      const argv = [...leaf.words, ...args, ...(leaf.words[0] === 'export' ? ['-o', exportDir] : []), ...(leaf.words[0] === 'dev' ? ['--data-dir', devDir] : [])];
      const res = await (SPAWNED.has(name) || SPAWNED.has(leaf.words[0]) ? runCli(argv, { env, timeoutMs: 30_000 }) : runInProcess(argv, CASE_TIMEOUT_MS))
        .catch((err: unknown) => ({ code: -1, stdout: '', stderr: `hung: ${(err as Error).message}` }));
      const clear = /(^|\n)error: /.test(res.stderr) && !/\n\s+at .+:\d+:\d+/.test(res.stderr);
      if (res.code !== 2 || !clear) failures.push(`evalctl ${argv.join(' ').slice(0, 160)} -> exit ${res.code}: ${res.stderr.slice(0, 300)}`);
      checked++;
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(!existsSync(exportDir), 'a rejected export wrote no folder');
  process.stderr.write(`bad input: ${checked} malformed command lines over ${leafCommands().length} commands rejected with exit 2\n`);
});

test('after every rejected start and command: no document in any collection and no workflow in Temporal', async () => {
  pointAtStack();
  const stack = getStack();
  store = await openStore(stack.mongoUrl);
  const counts = await collectionCounts(store);
  assert.deepEqual(Object.entries(counts).filter(([, n]) => n > 0), [], `documents written: ${JSON.stringify(counts)}`);
  temporal = await connectTemporal({ temporalAddress: stack.temporalAddress, temporalNamespace: stack.namespace, mongoUrl: stack.mongoUrl });
  assert.deepEqual(await allExecutions(temporal.client), []);
});

test('a worker that cannot reach Temporal retries for --connect-timeout, then exits 1 saying so', async () => {
  const env = { ...stackEnv(getStack()), TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const res = await runCli(['worker', 'inference', '--connect-timeout', '2'], { env, timeoutMs: 30_000 });
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /worker: cannot reach Temporal at 127\.0\.0\.1:1 yet/);
  assert.match(res.stderr, /error: cannot reach Temporal at 127\.0\.0\.1:1 after 2 s .*check --address \/ TEMPORAL_ADDRESS/);
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
});

test('a dataset that cannot be read on the worker ends the assignment failed within seconds, saying what and where', async () => {
  const env = stackEnv(getStack());
  store ??= await openStore(getStack().mongoUrl);
  const config = writeWorkload(dir, { name: 'unreadable', models: 1, tasks: 1, samples: 6, salt: 'unreadable' });
  // Started with no worker up, so nothing is planned yet; then line 4 stops being JSON (the file changed
  // after `start` checked it, or the worker's copy differs) and a worker comes up.
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  const id = (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
  const data = join(dir, 'unreadable-task0.jsonl');
  const lines = readFileSync(data, 'utf8').split('\n');
  lines[3] = '{"id": "s3", "question": broken';
  writeFileSync(data, lines.join('\n'));
  const worker = await startWorkerProcess(env, 'all');
  try {
    const started = Date.now();
    const watched = await runCli(['watch', id], { env, timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`bad-input: the unreadable dataset failed the assignment ${seconds.toFixed(1)} s after the worker came up\n`);
    assert.equal(watched.code, 1, `watch exits 1 for a failed run: ${watched.stderr}`);
    assert.ok(seconds < 20, `ended in ${seconds.toFixed(1)} s`);
    const doc = await store.assignments.findOne({ _id: id });
    assert.equal(doc?.status, 'failed');
    assert.match(doc?.error ?? '', /unreadable-task0\.jsonl:4: malformed JSON/);
    assert.match(watched.stderr, /malformed JSON/);
    const status = await runCli(['status', id], { env });
    assert.match(status.stdout, /failed/);
    assert.match(status.stdout + status.stderr, /malformed JSON/);
    const events = await runCli(['events', id], { env });
    assert.match(events.stdout, /failed.*malformed JSON/);
  } finally {
    await worker.kill();
  }
});

test('a planning error that may pass is retried, status shows it while it is, and the run completes once it passes', async () => {
  const env = stackEnv(getStack());
  store ??= await openStore(getStack().mongoUrl);
  const config = writeWorkload(dir, { name: 'flaky-plan', models: 1, tasks: 1, samples: 3, salt: 'flaky-plan' });
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  const id = (JSON.parse(res.stdout) as { assignmentId: string }).assignmentId;
  // Before any worker plans, the dataset path becomes a link to a file whose reads fail with EIO (the
  // worker's own /proc/self/mem, read from address 0), as a flaky network filesystem would: an error that
  // says nothing about being permanent, so it is retried.
  const data = join(dir, 'flaky-plan-task0.jsonl');
  const content = readFileSync(data, 'utf8');
  rmSync(data);
  symlinkSync('/proc/self/mem', data);
  const worker = await startWorkerProcess(env, 'all');
  try {
    const shown = await waitFor(async () => {
      const status = await runCli(['status', id], { env });
      return /retrying planAssignment \(attempt [2-9]\d*\): .*EIO/.test(status.stdout) ? status.stdout : undefined;
    }, { timeoutMs: 60_000, message: 'status to show the retried planning error' });
    assert.match(shown, /: running/);
    rmSync(data);
    writeFileSync(data, content);
    const watched = await runCli(['watch', id], { env, timeoutMs: 60_000 });
    assert.equal(watched.code, 0, watched.stderr);
    assert.equal((await store.assignments.findOne({ _id: id }))?.status, 'completed');
  } finally {
    await worker.kill();
  }
});
