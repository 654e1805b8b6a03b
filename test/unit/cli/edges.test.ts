import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '../../helpers/cli';
import { uiBaseUrl } from '../../../src/temporal/client';
import { stackPaths } from '../../../src/dev/state';

/** No server answers here, so a command that reached for one would fail differently. */
const OFFLINE = { ...process.env, EVALCTL_MONGO_URL: 'mongodb://127.0.0.1:1/x', TEMPORAL_ADDRESS: '127.0.0.1:1' };

test('a reader that goes away (evalctl ... | head) ends the output quietly: exit 0, no EPIPE stack', async () => {
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'evalctl.js'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});

test('a missing --tls-ca file is bad input naming the flag and file, not an unreachable Temporal', async () => {
  const res = await runCli(['status', 'a1', '--tls-ca', '/no/such/ca.pem'], { env: OFFLINE });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /--tls-ca \/no\/such\/ca\.pem: cannot read it \(ENOENT\)/);
  assert.doesNotMatch(res.stderr, /cannot reach/);
});

test('workers start --start gpu 1 is refused: gpu is no worker type, and no task worker starts silently', async () => {
  const res = await runCli(['workers', 'start', '--start', 'gpu', '1'], { env: OFFLINE, timeoutMs: 20_000 });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /"gpu" is not a worker type/);
});

test('Web UI links use the UI port the local dev stack recorded for the Temporal it serves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evalctl-ui-'));
  const state = { pid: 1, bin: 'temporal', port: 41234, uiPort: 41299, httpPort: 1, metricsPort: 2, namespace: 'default', startedAt: new Date().toISOString() };
  writeFileSync(stackPaths(dir).temporalPid, JSON.stringify(state));
  const env = { EVALCTL_DEV_DIR: dir };
  assert.equal(uiBaseUrl(env, '127.0.0.1:41234'), 'http://127.0.0.1:41299');
  assert.equal(uiBaseUrl(env, '127.0.0.1:7233'), 'http://127.0.0.1:8233', 'another Temporal: the default');
  assert.equal(uiBaseUrl({ ...env, EVALCTL_UI_URL: 'http://ui.example' }, '127.0.0.1:41234'), 'http://ui.example');
});

test('docs/cli.md names no machine\'s home directory', () => {
  const text = readFileSync(join(repoRoot(), 'docs', 'cli.md'), 'utf8');
  assert.ok(!text.includes(homedir()), `docs/cli.md contains ${homedir()}`);
  assert.match(text, /~\/\.local\/share\/evalctl\/dev/);
});
