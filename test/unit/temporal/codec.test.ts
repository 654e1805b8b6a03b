import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DefaultPayloadConverter, type Payload } from '@temporalio/common';
import { UsageError } from '../../../src/cli/errors';
import { AesGcmCodec, codecKeysFromEnv, ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadDecryptionError, payloadCodecsFromEnv } from '../../../src/temporal/codec';

const key = (): string => randomBytes(32).toString('base64');
const converter = new DefaultPayloadConverter();
const plain = (value: unknown): Payload => converter.toPayload(value);
const text = (p: Payload): string => Buffer.from(p.data ?? []).toString('latin1');

test('no key configured: no codec, payloads stay as they are', () => {
  assert.equal(codecKeysFromEnv({}), undefined);
  assert.deepEqual(payloadCodecsFromEnv({}), []);
});

test('encode hides the plaintext and names the key; decode restores the exact payload', async () => {
  const codec = new AesGcmCodec(codecKeysFromEnv({ EVALCTL_CODEC_KEY: key(), EVALCTL_CODEC_KEY_ID: 'k1' })!);
  const original = plain({ assignmentId: 'secret-looking-assignment', n: 42 });
  const [encoded] = await codec.encode([original]);
  assert.equal(Buffer.from(encoded.metadata!.encoding).toString(), ENCRYPTED_ENCODING);
  assert.equal(Buffer.from(encoded.metadata![KEY_ID_METADATA]).toString(), 'k1');
  assert.ok(!text(encoded).includes('secret-looking-assignment'));
  const [again] = await codec.encode([original]);
  assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(encoded.data!), 'a fresh IV per payload');
  const [decoded] = await codec.decode([encoded]);
  assert.deepEqual(converter.fromPayload(decoded), { assignmentId: 'secret-looking-assignment', n: 42 });
  assert.deepEqual(await codec.decode([original]), [original], 'plain payloads (from before encryption) pass through');
});

test('after a rotation, old keys still decrypt; a payload of an unknown key or altered data fails clearly', async () => {
  const k1 = key();
  const k2 = key();
  const before = new AesGcmCodec(codecKeysFromEnv({ EVALCTL_CODEC_KEY: k1, EVALCTL_CODEC_KEY_ID: 'k1' })!);
  const [old] = await before.encode([plain('written with k1')]);
  const after = new AesGcmCodec(codecKeysFromEnv({ EVALCTL_CODEC_KEY: k2, EVALCTL_CODEC_KEY_ID: 'k2', EVALCTL_CODEC_OLD_KEYS: `k0:${key()},k1:${k1}` })!);
  assert.equal(converter.fromPayload((await after.decode([old]))[0]), 'written with k1');
  const [fresh] = await after.encode([plain('written with k2')]);
  assert.equal(Buffer.from(fresh.metadata![KEY_ID_METADATA]).toString(), 'k2');
  await assert.rejects(before.decode([fresh]), (e: unknown) => e instanceof PayloadDecryptionError && /key "k2", which is not configured/.test(e.message));
  const tampered = { ...old, data: Buffer.from(old.data!).fill(7, 20, 24) };
  await assert.rejects(after.decode([tampered]), (e: unknown) => e instanceof PayloadDecryptionError && /wrong key or altered data/.test(e.message));
  const wrongKey = new AesGcmCodec(codecKeysFromEnv({ EVALCTL_CODEC_KEY: key(), EVALCTL_CODEC_KEY_ID: 'k1' })!);
  await assert.rejects(wrongKey.decode([old]), PayloadDecryptionError);
});

test('malformed codec settings are usage errors naming the variable', () => {
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ EVALCTL_CODEC_KEY: key() }, /needs EVALCTL_CODEC_KEY_ID/],
    [{ EVALCTL_CODEC_KEY_ID: 'k1' }, /need EVALCTL_CODEC_KEY/],
    [{ EVALCTL_CODEC_KEY: 'c2hvcnQ=', EVALCTL_CODEC_KEY_ID: 'k1' }, /EVALCTL_CODEC_KEY: key "k1" must be 32 bytes/],
    [{ EVALCTL_CODEC_KEY: 'not base64 at all!!', EVALCTL_CODEC_KEY_ID: 'k1' }, /must be 32 bytes in base64/],
    [{ EVALCTL_CODEC_KEY: key(), EVALCTL_CODEC_KEY_ID: 'bad id' }, /key id "bad id"/],
    [{ EVALCTL_CODEC_KEY: key(), EVALCTL_CODEC_KEY_ID: 'k1', EVALCTL_CODEC_OLD_KEYS: 'nocolon' }, /EVALCTL_CODEC_OLD_KEYS: expected id:base64key/],
    [{ EVALCTL_CODEC_KEY: key(), EVALCTL_CODEC_KEY_ID: 'k1', EVALCTL_CODEC_OLD_KEYS: 'k0:short' }, /EVALCTL_CODEC_OLD_KEYS: key "k0" must be 32 bytes/],
  ];
  for (const [env, message] of bad) assert.throws(() => codecKeysFromEnv(env), (e: unknown) => e instanceof UsageError && message.test(e.message), JSON.stringify(Object.keys(env)));
});
