import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ModelConfigSchema } from '../../../src/config/schema';
import { ErrorTypes } from '../../../src/contracts/errors';
import { createProvider, ProviderError } from '../../../src/providers';
import type { InferenceRequest } from '../../../src/providers';
import { waitFor } from '../../helpers/wait';
import { isAlive } from './proc';

const FIXTURE = path.resolve(__dirname, '..', '..', 'fixtures', 'providers', 'fake-model.js');
let dir = '';
before(() => (dir = mkdtempSync(path.join(tmpdir(), 'evalctl-cmd-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const model = (mode: string, timeoutMs = 10_000, env: Record<string, string> = {}) =>
  createProvider(
    ModelConfigSchema.parse({ id: 'fake', provider: { kind: 'command', command: [process.execPath, FIXTURE], env: { FIXTURE_MODE: mode, ...env } }, timeoutMs }),
  );
const req: InferenceRequest = { sampleKey: 'k1', messages: [{ role: 'user', content: 'hello; rm -rf /' }], prompt: 'hello; rm -rf /', params: {} };
const ctx = (over: Partial<{ signal: AbortSignal; env: NodeJS.ProcessEnv; extraEnv: Record<string, string> }> = {}) => ({
  signal: new AbortController().signal,
  env: process.env,
  ...over,
});

describe('command provider', () => {
  it('sends the request on stdin (no shell) and reads {text, usage} from stdout', async () => {
    const p = await model('echo').infer(req, ctx());
    assert.equal(p.text, 'HELLO; RM -RF /');
    assert.deepEqual(p.usage, { inputTokens: 11, outputTokens: 7 });
    assert.ok(p.latencyMs >= 0);
  });

  it('passes extra env (CUDA_VISIBLE_DEVICES) and resolves ${NAME} in its env', async () => {
    const p = await model('env', 10_000, { FIXTURE_SECRET: '${MY_SECRET}' }).infer(req, ctx({ env: { ...process.env, MY_SECRET: 's3' }, extraEnv: { CUDA_VISIBLE_DEVICES: '2,3' } }));
    assert.equal(p.text, '2,3|s3');
  });

  it('exit code 2 is permanent, other exits retryable; both carry the stderr tail', async () => {
    await assert.rejects(model('exit2').infer(req, ctx()), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.retryable, false);
      assert.equal(err.type, ErrorTypes.ProviderPermanent);
      assert.match(err.message, /exited with code 2; stderr: line 1 of noise\nfatal: cannot handle k1/);
      return true;
    });
    await assert.rejects(model('exit1').infer(req, ctx()), (err: unknown) => err instanceof ProviderError && err.retryable && /code 1/.test(err.message));
  });

  it('stdout that is not JSON is a permanent error', async () => {
    await assert.rejects(model('garbage').infer(req, ctx()), (err: unknown) => err instanceof ProviderError && !err.retryable && /did not print JSON/.test(err.message));
  });

  it('a timeout kills the process group and is retryable', async () => {
    const pidFile = path.join(dir, 'timeout.json');
    await assert.rejects(model('hang', 1500).infer(req, ctx({ env: { ...process.env, FIXTURE_PID_FILE: pidFile } })), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.retryable, true);
      assert.match(err.message, /timed out after 1500 ms/);
      return true;
    });
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { child: number; grandchild: number };
    await waitFor(() => !isAlive(pids.child) && !isAlive(pids.grandchild), { timeoutMs: 5000, message: 'process group gone' });
  });

  it('an abort kills the child and its children (SIGKILL to the group) and rejects as canceled', async () => {
    const pidFile = path.join(dir, 'abort.json');
    const controller = new AbortController();
    const call = model('hang').infer(req, ctx({ signal: controller.signal, env: { ...process.env, FIXTURE_PID_FILE: pidFile } }));
    const pids = await waitFor(
      (): { child: number; grandchild: number } | undefined => (existsSync(pidFile) ? JSON.parse(readFileSync(pidFile, 'utf8')) : undefined),
      { message: 'fixture started' },
    );
    assert.ok(isAlive(pids.child));
    controller.abort();
    await assert.rejects(call, (err: unknown) => err instanceof ProviderError && err.type === ErrorTypes.Canceled);
    assert.equal(isAlive(pids.child), false);
    await waitFor(() => !isAlive(pids.grandchild), { timeoutMs: 5000, message: 'grandchild gone' });
  });

  it('a program that cannot start is permanent', async () => {
    const p = createProvider(ModelConfigSchema.parse({ id: 'x', provider: { kind: 'command', command: [path.join(dir, 'missing-binary')] } }));
    await assert.rejects(p.infer(req, ctx()), (err: unknown) => err instanceof ProviderError && !err.retryable && /could not start/.test(err.message));
  });
});
