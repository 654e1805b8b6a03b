import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from './cli';

/**
 * Debian's chromium driven by playwright-core, for the browser tests (nothing is downloaded; CI installs
 * it with scripts/ensure-chromium.sh), and where their screenshots go.
 */

/** The browser binary: EVALCTL_CHROMIUM or Debian's. */
export const CHROMIUM = process.env.EVALCTL_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A headless chromium with a fresh profile under `dir` (a persistent context is the only way playwright takes a user data dir). */
export async function openChromium(dir: string, viewport = { width: 1280, height: 760 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root) first`);
  const profile = mkdtempSync(join(dir, 'profile-'));
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
}

/**
 * Where a screenshot goes: docs/<name> when that file is missing or EVALCTL_UPDATE_SCREENSHOTS=1,
 * otherwise dist/test-artifacts/<name>, so CI keeps the working tree clean.
 */
export function screenshotPath(name: string): string {
  const docs = join(repoRoot(), 'docs', name);
  if (!existsSync(docs) || process.env.EVALCTL_UPDATE_SCREENSHOTS === '1') return docs;
  const artifacts = join(repoRoot(), 'dist', 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, name);
}
