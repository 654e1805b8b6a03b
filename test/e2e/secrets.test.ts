import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openStore, type Store } from '../../src/store/store';
import { connectTemporal, type TemporalHandle } from '../../src/temporal/client';
import { runCli } from '../helpers/cli';
import { databaseText, historiesText } from '../helpers/inspect';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/openai-server';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv } from '../helpers/workers';

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-secrets-'));
// A value that cannot occur by chance; hex so that it survives every encoding unchanged.
const SECRET = `sk-evalctl-test-${randomBytes(16).toString('hex')}`;
let store: Store | undefined;
let temporal: TemporalHandle | undefined;
let endpoint: FakeOpenAI | undefined;

after(async () => {
  await Promise.allSettled([store?.close(), temporal?.close(), endpoint?.close()]);
});

function writeConfig(baseUrl: string): string {
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, Array.from({ length: 30 }, (_, i) => JSON.stringify({ q: `what is ${i}?`, a: String(i) })).join('\n'));
  const config = {
    name: 'secrets',
    models: [{
      id: 'keyed',
      provider: { kind: 'openai', baseUrl, model: 'fake', apiKey: '${EVALCTL_TEST_SECRET}', headers: { 'x-team-token': 'team ${EVALCTL_TEST_SECRET}' } },
      concurrency: 4,
    }],
    tasks: [{ id: 'echo', dataset: { path: data, fields: { target: 'a' } }, prompt: '{{q}}', scorer: { kind: 'exact' } }],
  };
  const path = join(dir, 'secrets.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Every file under a directory, as text (server logs and databases of the stack). */
function filesText(root: string): string {
  const parts: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) parts.push(filesText(p));
    else parts.push(readFileSync(p).toString('latin1'));
  }
  return parts.join('\n');
}

test('a provider key given as ${EVALCTL_TEST_SECRET} is used on the wire and found nowhere else', async (t) => {
  const stack = getStack();
  // Every 7th call fails with a 500 first, so error paths (failure messages in history) are covered too.
  endpoint = await startFakeOpenAI({ apiKey: SECRET, faults: (n) => (n % 7 === 3 ? { status: 500 } : undefined) });
  const worker = await startWorkerProcess(stackEnv(stack, { EVALCTL_TEST_SECRET: SECRET, EVALCTL_LOG_LEVEL: 'DEBUG' }));
  t.after(() => worker.kill('SIGKILL'));
  // The CLI never needs the secret: only the worker resolves it.
  const cliEnv = stackEnv(stack);
  delete cliEnv.EVALCTL_TEST_SECRET;
  const started = await runCli(['start', writeConfig(endpoint.baseUrl), '--json'], { env: cliEnv });
  assert.equal(started.code, 0, started.stderr);
  const id = (JSON.parse(started.stdout) as { assignmentId: string }).assignmentId;
  const watched = await runCli(['watch', id], { env: cliEnv, timeoutMs: 180_000 });
  assert.equal(watched.code, 0, watched.stderr);

  // The key did reach the endpoint (it answers 401 to anything else), so the search below is meaningful.
  assert.ok(endpoint.seen.length >= 30);
  assert.ok(endpoint.seen.every((r) => r.auth === `Bearer ${SECRET}`), 'every call carried the resolved key');
  store = await openStore(stack.mongoUrl);
  const results = await store.results.find({}).toArray();
  assert.equal(results.length, 30);
  assert.ok(results.some((r) => (r.attempts ?? 1) > 1), 'some calls were retried after a 500');

  temporal = await connectTemporal({ temporalAddress: stack.temporalAddress, temporalNamespace: stack.namespace, mongoUrl: stack.mongoUrl });
  const history = await historiesText(temporal.client);
  const db = await databaseText(store);
  const events = await runCli(['events', id, '--json'], { env: cliEnv });
  const report = await runCli(['report', id, '--details', '--format', 'json'], { env: cliEnv });
  assert.equal(events.code, 0, events.stderr);
  assert.ok(history.executions >= 32, `histories of ${history.executions} workflows were read`);
  assert.ok(db.documents >= 60 && db.collections.includes('results'));
  const places: Array<[string, string]> = [
    ['Temporal histories', history.text],
    ['MongoDB collections', db.text],
    ['events', events.stdout],
    ['report', report.stdout + report.stderr],
    ['worker log', worker.output()],
    ['CLI output', started.stdout + started.stderr + watched.stdout + watched.stderr],
    ['stack data dir (server logs and databases)', filesText(stack.dataDir)],
  ];
  for (const [where, text] of places) {
    assert.ok(!text.includes(SECRET), `the secret was found in ${where}`);
    assert.ok(!text.includes(Buffer.from(SECRET).toString('base64')), `the secret was found base64-encoded in ${where}`);
  }
  assert.ok(db.text.includes('${EVALCTL_TEST_SECRET}'), 'the config snapshot keeps the reference');
  process.stderr.write(`secrets: searched ${history.executions} workflow histories (${history.events} events), ${db.documents} documents in ${db.collections.length} collections, events, worker log, server files: secret found nowhere\n`);
});
