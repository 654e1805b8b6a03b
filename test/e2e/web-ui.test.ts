import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, runCli } from '../helpers/cli';
import { useTestStack } from '../helpers/stack';
import { startWorkerProcess, stackEnv, type WorkerProcess } from '../helpers/workers';
import { writeWorkload } from '../helpers/assignments';

/**
 * A real browser (Debian's chromium, driven by playwright-core; nothing is downloaded) opens the Temporal
 * Web UI of a test stack after a small run, filters the workflow list by EvalAssignment, sees exactly that
 * assignment's workflows and opens one to read its status. The screenshot goes to docs/web-ui.png when
 * that file is missing or EVALCTL_UPDATE_SCREENSHOTS=1, otherwise to dist/test-artifacts/ (CI keeps the
 * working tree clean). Chromium comes from scripts/ensure-chromium.sh, which .ci/run calls.
 */

const CHROMIUM = process.env.EVALCTL_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-webui-'));
let worker: WorkerProcess | undefined;
let browser: BrowserContext | undefined;

after(async () => {
  await browser?.close();
  await worker?.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  assignmentId: string;
  workflowId: string;
}

/** Starts a workload and waits for its end through the CLI, as a user would. */
async function runToEnd(env: NodeJS.ProcessEnv, name: string): Promise<Started> {
  const config = writeWorkload(dir, { name, models: 1, tasks: 1, samples: 3, salt: `${name}-${process.pid}`, accuracy: 1 });
  const res = await runCli(['start', config, '--json'], { env });
  assert.equal(res.code, 0, res.stderr);
  const started = JSON.parse(res.stdout) as Started;
  const end = await runCli(['watch', started.assignmentId], { env, timeoutMs: 180_000 });
  assert.equal(end.code, 0, end.stderr);
  return started;
}

/** A fresh profile per run: a persistent context is the only way playwright takes a user data dir. */
async function openBrowser(): Promise<BrowserContext> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first`);
  const profile = mkdtempSync(join(dir, 'profile-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 760 },
  });
}

/** The workflow ids the UI lists under a visibility query; waits for the list, since visibility lags. */
async function listedIds(page: Page, uiUrl: string, query: string, expected: string, count: number): Promise<string[]> {
  const url = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  const link = page.locator(`a[href*="${encodeURIComponent(expected)}"]`).first();
  for (let attempt = 0; ; attempt++) {
    await page.goto(url);
    try {
      await link.waitFor({ state: 'visible', timeout: 10_000 });
      // A string runs in the page: the test compiles without the DOM types.
      await page.waitForFunction(`document.querySelectorAll('a[href*="/workflows/evalctl"]').length >= ${count}`, undefined, { timeout: 10_000 });
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
  const hrefs = await page.locator('a[href*="/workflows/evalctl"]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  return [...new Set(hrefs.map((h) => decodeURIComponent(h.split('/workflows/')[1]?.split('/')[0] ?? '')))].filter(Boolean);
}

function screenshotPath(): string {
  const docs = join(repoRoot(), 'docs', 'web-ui.png');
  if (!existsSync(docs) || process.env.EVALCTL_UPDATE_SCREENSHOTS === '1') return docs;
  const artifacts = join(repoRoot(), 'dist', 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, 'web-ui.png');
}

test('the Web UI filters by EvalAssignment and shows a finished workflow as Completed', async () => {
  const stack = getStack();
  const env = stackEnv(stack);
  worker = await startWorkerProcess(env);
  const [mine, other] = await Promise.all([runToEnd(env, 'webui'), runToEnd(env, 'other')]);

  browser = await openBrowser();
  const page = browser.pages()[0] ?? (await browser.newPage());
  // 1 assignment + 1 job + 3 samples, and nothing of the other assignment.
  const ids = await listedIds(page, stack.uiUrl, `EvalAssignment = '${mine.assignmentId}'`, mine.workflowId, 5);
  assert.ok(ids.includes(mine.workflowId), `the assignment workflow is listed: ${ids.join(', ')}`);
  assert.ok(ids.some((id) => id.startsWith(`evalctl/${mine.assignmentId}/job/`)), `a job workflow is listed: ${ids.join(', ')}`);
  assert.equal(ids.length, 5, `exactly the assignment's workflows are listed: ${ids.join(', ')}`);
  assert.equal(ids.filter((id) => id.startsWith('evalctl/sample/')).length, 3);
  assert.ok(!ids.some((id) => id.includes(other.assignmentId)), `the filter hides other assignments: ${ids.join(', ')}`);
  await page.getByText('Completed').first().waitFor({ state: 'visible' });
  const shot = screenshotPath();
  await page.screenshot({ path: shot, type: 'png' });
  assert.ok(statSync(shot).size > 10_000 && statSync(shot).size < 400_000, `screenshot size ${statSync(shot).size}`);
  assert.deepEqual([...readFileSync(shot).subarray(1, 4)], [...Buffer.from('PNG')]);

  await page.locator(`a[href*="${encodeURIComponent(mine.workflowId)}"]`).first().click();
  await page.waitForURL((u) => decodeURIComponent(u.pathname).includes(mine.workflowId));
  await page.getByText(mine.workflowId).first().waitFor({ state: 'visible' });
  await page.getByText('Completed', { exact: true }).first().waitFor({ state: 'visible' });
  // Web UI 2.54 shows the status in capitals (CSS text-transform, which innerText applies).
  assert.match(await page.locator('body').innerText(), /Completed/i);
});
