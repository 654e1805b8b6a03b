// Restores package-lock.json entries for @swc/core's other-platform builds. The registry mirror of this
// workplace does not serve them, so `npm install` here writes a lock without them, and `npm ci` then
// refuses the lock ("Missing: @swc/core-darwin-arm64 from lock file"). The entries carry only version,
// os and cpu: npm never fetches a package built for another platform. Run after any `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const core = lock.packages['node_modules/@swc/core'];
const added = [];
for (const name of Object.keys(core?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [, os, cpu] = /^@swc\/core-([a-z0-9]+)-([a-z0-9]+)/.exec(name) ?? [];
  lock.packages[key] = { version: core.version, cpu: [cpu], license: 'Apache-2.0 AND MIT', optional: true, os: [os], engines: { node: '>=10' } };
  added.push(name);
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stderr.write(added.length ? `fix-lock: restored ${added.join(', ')}\n` : 'fix-lock: nothing to restore\n');
