import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CHAT_TEMPLATE, LAUNCHER, REAL_MODEL_NAME, REAL_MODEL_PACKAGES, realModelDir, serverArgs } from '../../../scripts/real-model';

test('the real model cache is keyed by both pinned versions, under XDG_CACHE_HOME when set', () => {
  const { server, model } = REAL_MODEL_PACKAGES;
  const key = `${server.pkg}-${server.version}_${model.pkg}-${model.version}`;
  assert.equal(realModelDir({ XDG_CACHE_HOME: '/x/cache' }), `/x/cache/evalctl/real-model/${key}`);
  assert.ok(realModelDir({}).endsWith(`/.cache/evalctl/real-model/${key}`));
});

test('the server is started on loopback with the asked context, threads and port, and dies with its parent', () => {
  const install = { dir: '/c', python: '/c/venv/bin/python', modelPath: '/c/m.gguf', installMs: 0, assembleMs: 0 };
  const args = serverArgs(install, { port: 0, ctxSize: 512, threads: 1 });
  const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
  assert.equal(args[0], LAUNCHER);
  assert.deepEqual([flag('--model'), flag('--host'), flag('--port'), flag('--ctx-size'), flag('--threads'), flag('--alias')], ['/c/m.gguf', '127.0.0.1', '0', '512', '1', REAL_MODEL_NAME]);
  assert.equal(flag('--chat-template-file'), CHAT_TEMPLATE);
  assert.ok(args.includes('--stop-on-stdin-eof'));
  assert.ok(existsSync(LAUNCHER) && existsSync(CHAT_TEMPLATE), 'launcher and template ship in the repository');
});
