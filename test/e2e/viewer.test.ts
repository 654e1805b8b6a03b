import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BrowserContext, Page } from 'playwright-core';
import { openChromium, screenshotPath } from '../helpers/browser';
import { repoRoot, runCli, startAssignment } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { waitFor } from '../helpers/wait';
import { openStore, type Store } from '../../src/store/store';
import { readJobDigest } from '../../src/store/digests';
import { assertStoredTexts, searchIndexes } from '../helpers/digests';
import { isTerminal } from '../../src/contracts';

/**
 * The results viewer on a real stack: two small simulated-model runs of one dataset (one with permanent
 * failures, one with another seed), `evalctl view` as its own process, and Debian's chromium driven by
 * playwright-core (nothing is downloaded) reading its pages: the failed filter lists exactly the failed
 * samples, the comparison exactly the samples whose score changed, and a script in the dataset is shown as
 * text and never runs. Screenshots go to docs/viewer-*.png when missing or EVALCTL_UPDATE_SCREENSHOTS=1,
 * otherwise to dist/test-artifacts/.
 */

const INJECTION = '<script>window.__evalctlInjected = 1</script><img src=x onerror="window.__evalctlInjected = 2">';
const SAMPLES = 16;

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-viewer-'));
let worker: WorkerProcess | undefined;
let viewer: ChildProcess | undefined;
let browser: BrowserContext | undefined;
let store: Store | undefined;

after(async () => {
  await browser?.close();
  if (viewer && viewer.exitCode === null) viewer.kill('SIGKILL');
  await worker?.kill();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One dataset for both runs; sample 0 carries markup that must stay text. */
function writeConfig(name: string, provider: Record<string, unknown>): string {
  const data = join(dir, 'questions.jsonl');
  const lines = Array.from({ length: SAMPLES }, (_, i) => JSON.stringify({ id: `q${i}`, question: `${i === 0 ? INJECTION : ''} viewer test: what is ${i} + 1?`, target: String(i + 1) }));
  writeFileSync(data, `${lines.join('\n')}\n`);
  const config = {
    name,
    models: [{ id: 'model0', provider: { kind: 'simulated', latencyMs: 0, ...provider }, concurrency: 8 }],
    tasks: [{ id: 'task0', dataset: { path: data }, prompt: [{ role: 'system', content: 'Answer with a number.' }, { role: 'user', content: 'Question: {{question}}' }], scorer: { kind: 'exact' } }],
  };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

async function runToEnd(env: NodeJS.ProcessEnv, config: string): Promise<string> {
  const id = await startAssignment(env, config);
  await runCli(['watch', id], { env, timeoutMs: 180_000 });
  const s = store as Store;
  await waitFor(async () => isTerminal((await s.assignments.findOne({ _id: id }))?.status ?? 'running'), { timeoutMs: 60_000, message: `${id} to end` });
  return id;
}

async function startViewerProcess(env: NodeJS.ProcessEnv): Promise<string> {
  viewer = spawn(process.execPath, [join(repoRoot(), 'bin', 'evalctl.js'), 'view', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  viewer.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  viewer.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const match = await waitFor(() => {
    if (viewer?.exitCode !== null) throw new Error(`evalctl view exited early:\n${out}`);
    return /evalctl view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
  }, { timeoutMs: 30_000, message: 'evalctl view to print its URL' });
  return match[1];
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = screenshotPath(name);
  await page.screenshot({ path, type: 'png', fullPage: false });
  assert.ok(statSync(path).size > 10_000, `${name} is a real screenshot`);
}

/** The sample indexes a list page shows, from the links of its first column. */
async function listedIndexes(page: Page, tableId: string): Promise<number[]> {
  return page.locator(`#${tableId} tbody tr td:first-child`).evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
}

/** A raw GET with a chosen Host header and method (fetch may not set Host). */
function rawRequest(url: string, method: string, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: host ? { host } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('the viewer shows real assignments, filters failed samples, lists flipped samples, and renders markup as text', async () => {
  const stack = getStack();
  const env = stackEnv(stack);
  const bad = await runCli(['view', '--port', '70000'], { env });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--port/);

  store = await openStore(stack.mongoUrl);
  worker = await startWorkerProcess(env);
  const a = await runToEnd(env, writeConfig('viewer-a', { accuracy: 0.5, seed: 1, permanentErrorRate: 0.3 }));
  const b = await runToEnd(env, writeConfig('viewer-b', { accuracy: 0.5, seed: 2 }));
  const samplesA = await store.samples.find({ assignmentId: a }).toArray();
  const samplesB = await store.samples.find({ assignmentId: b }).toArray();
  const failed = samplesA.filter((s) => s.status === 'failed').map((s) => s.index).sort((x, y) => x - y);
  assert.ok(failed.length > 0 && failed.length < SAMPLES, `run A has some failed samples: ${failed.join(', ')}`);
  const scoreB = new Map(samplesB.map((s) => [s.index, s.score ?? null]));
  const flipped = samplesA.filter((s) => scoreB.has(s.index) && (s.score ?? null) !== scoreB.get(s.index)).map((s) => s.index).sort((x, y) => x - y);
  assert.ok(flipped.length > 0, 'the two runs differ on some samples');
  // Finalisation stored A's digest for the viewer: the job's rows, read by `_id`, as its sample records say.
  const jobA = await store.jobs.findOne({ _id: `${a}/model0/task0` });
  const stored = jobA ? await readJobDigest(store, jobA) : undefined;
  assert.deepEqual(stored?.map((r) => [r.index, r.status, r.score, r.sampleKey]), samplesA.sort((x, y) => x.index - y.index).map((s) => [s.index, s.status, s.score ?? null, s.sampleKey]));
  // And its text digest: a search in it finds exactly the sample with a string, a failed one too.
  const textsA = await assertStoredTexts(store, a, 'model0/task0');
  const someFailed = failed[failed.length - 1];
  assert.deepEqual(searchIndexes(textsA, `what is ${someFailed} + 1?`), [someFailed]);
  assert.equal(searchIndexes(textsA, 'VIEWER TEST:').length, 0, 'needles are squashed by the caller, as the viewer does');
  assert.equal(searchIndexes(textsA, 'viewer test:').length, SAMPLES);

  const url = await startViewerProcess(env);
  assert.equal(await rawRequest(url, 'POST'), 405);
  assert.equal(await rawRequest(url, 'GET', 'rebound.example:80'), 421);

  browser = await openChromium(dir, { width: 1280, height: 800 });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(url);
  const listed = await page.locator('#assignments tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(listed, [b, a], 'newest first');
  await page.fill('input[name=q]', 'viewer-a');
  await page.click('form.filters button');
  assert.deepEqual(await page.locator('#assignments tbody tr td:first-child').allInnerTexts(), [a]);

  await page.goto(`${url}assignments/${encodeURIComponent(a)}`);
  assert.match(await page.locator('#scores').innerText(), /model0[\s\S]*\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
  assert.match(await page.locator('#jobs').innerText(), new RegExp(`model0/task0[\\s\\S]*${SAMPLES}`));
  const temporalLinks = await page.locator('a[href*="/workflows/"]').evaluateAll((as) => as.map((x) => x.getAttribute('href')));
  assert.ok(temporalLinks.includes(`${stack.uiUrl}/namespaces/default/workflows/${encodeURIComponent(`evalctl/${a}`)}`), temporalLinks.join(' '));
  assert.ok(temporalLinks.includes(`${stack.uiUrl}/namespaces/default/workflows/${encodeURIComponent(`evalctl/${a}/job/model0/task0`)}`), temporalLinks.join(' '));
  assert.match(await page.locator('body').innerText(), /Config snapshot[\s\S]*permanentErrorRate/);
  await shoot(page, 'viewer-assignment.png');

  await page.locator('#jobs a', { hasText: 'model0/task0' }).first().click();
  assert.deepEqual(await listedIndexes(page, 'samples'), Array.from({ length: SAMPLES }, (_, i) => i));
  await shoot(page, 'viewer-samples.png');
  await page.selectOption('select[name=show]', 'failed');
  await page.click('#filters button');
  await page.waitForURL(/show=failed/);
  await page.locator('#samples').waitFor();
  assert.deepEqual(await listedIndexes(page, 'samples'), failed, 'the failed filter lists exactly the failed samples');

  await page.goto(`${url}assignments/${encodeURIComponent(a)}/jobs/${encodeURIComponent('model0/task0')}?q=${encodeURIComponent('<script>')}`);
  await page.locator('#samples').waitFor();
  assert.deepEqual(await listedIndexes(page, 'samples'), [0], 'text search finds the sample with markup');
  await page.goto(`${url}assignments/${encodeURIComponent(a)}/jobs/${encodeURIComponent('model0/task0')}?q=${encodeURIComponent(`What is ${someFailed}  + 1?`)}`);
  await page.locator('#samples').waitFor();
  assert.deepEqual(await listedIndexes(page, 'samples'), [someFailed], 'text search finds a failed sample, ignoring case and runs of spaces');
  await page.goto(`${url}assignments/${encodeURIComponent(b)}/jobs/${encodeURIComponent('model0/task0')}/samples/0`);
  assert.ok((await page.locator('body').innerText()).includes(INJECTION), 'the markup is shown as text');
  // The chat messages exactly as the model got them: the system message, then the filled user turn.
  const sent = await page.locator('#messages .msg').evaluateAll((ms) => ms.map((m) => [m.querySelector('.role')?.textContent ?? '', m.querySelector('pre')?.textContent ?? '']));
  assert.deepEqual(sent, [['system', 'Answer with a number.'], ['user', `Question: ${INJECTION} viewer test: what is 0 + 1?`]]);
  assert.equal(await page.evaluate('typeof window.__evalctlInjected'), 'undefined', 'the script never ran');
  assert.equal(await page.evaluate('document.querySelectorAll("script, main img").length'), 0);
  assert.ok(await page.locator(`a[href*="${encodeURIComponent('evalctl/sample/')}"]`).count() > 0, 'the sample links its workflow');

  await page.goto(`${url}compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  assert.match(await page.locator('#compare').innerText(), new RegExp(`model0/task0[\\s\\S]*${flipped.length} changed`));
  await page.locator('#compare a', { hasText: 'changed' }).click();
  await page.locator('#changed').waitFor();
  assert.deepEqual(await listedIndexes(page, 'changed'), flipped, 'the comparison lists exactly the samples whose score changed');
  await shoot(page, 'viewer-compare.png');

  await page.goto(`${url}leaderboards`);
  assert.match(await page.locator('main').innerText(), /task0[\s\S]*model0/);
  assert.deepEqual(pageErrors, []);

  viewer?.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => (viewer?.exitCode !== null ? resolve(viewer?.exitCode ?? null) : viewer.once('exit', (c) => resolve(c))));
  assert.equal(code, 0, 'evalctl view stops cleanly on SIGTERM');
});
