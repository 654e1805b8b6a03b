import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { UsageError } from '../cli/errors';

/**
 * An optional payload codec: AES-256-GCM over every payload Temporal stores (workflow inputs, results,
 * signals, failures' details), so history is unreadable without the key. Configured from the environment
 * of every evalctl client and worker; old keys keep decrypting history written before a key rotation.
 */

/** Environment variables of the codec, named once for help texts and docs. */
export const CODEC_ENV = {
  key: 'EVALCTL_CODEC_KEY',
  keyId: 'EVALCTL_CODEC_KEY_ID',
  oldKeys: 'EVALCTL_CODEC_OLD_KEYS',
} as const;

/** The `encoding` metadata of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One AES-256 key and the id written next to what it encrypts. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** The key new payloads are encrypted with, and every key that may still decrypt. */
export interface CodecKeys {
  current: CodecKey;
  old: CodecKey[];
}

function parseKey(id: string, base64: string, variable: string): CodecKey {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new UsageError(`${variable}: key id "${id.slice(0, 80)}" must be 1-64 letters, digits, '.', '_' or '-'`);
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32 || key.toString('base64') !== base64.trim()) {
    throw new UsageError(`${variable}: key "${id}" must be 32 bytes in base64 (44 characters, e.g. from \`openssl rand -base64 32\`)`);
  }
  return { id, key };
}

/**
 * Reads the codec keys from the environment; undefined when no key is set (no encryption). A key without
 * an id, a malformed key or a malformed old-key list is a usage error naming the variable.
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  const key = env[CODEC_ENV.key]?.trim();
  const id = env[CODEC_ENV.keyId]?.trim();
  const oldList = env[CODEC_ENV.oldKeys]?.trim();
  if (!key) {
    if (id || oldList) throw new UsageError(`${CODEC_ENV.keyId} and ${CODEC_ENV.oldKeys} need ${CODEC_ENV.key} (the current key)`);
    return undefined;
  }
  if (!id) throw new UsageError(`${CODEC_ENV.key} needs ${CODEC_ENV.keyId}: the id stored with each payload picks the key that decrypts it`);
  const current = parseKey(id, key, CODEC_ENV.key);
  const old = (oldList ? oldList.split(',') : []).map((entry) => {
    const at = entry.indexOf(':');
    if (at <= 0) throw new UsageError(`${CODEC_ENV.oldKeys}: expected id:base64key[,id:base64key...], got "${entry.slice(0, 20)}..."`);
    return parseKey(entry.slice(0, at).trim(), entry.slice(at + 1), CODEC_ENV.oldKeys);
  });
  return { current, old };
}

/** A payload that cannot be decrypted here: the key it names is not configured, or the data was altered. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

/** AES-256-GCM codec: each payload serialized, encrypted with a fresh IV, and tagged with its key id. */
export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  constructor(private readonly config: CodecKeys) {
    this.keys = new Map([...config.old, config.current].map((k) => [k.id, k.key]));
  }

  /** Encrypts every payload with the current key. */
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.config.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(this.config.current.id) },
        data,
      };
    });
  }

  /** Decrypts encrypted payloads with the key they name; plain payloads (written before encryption) pass through. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.keys.get(id);
      if (!key) throw new PayloadDecryptionError(`payload encrypted with key "${id}", which is not configured (${CODEC_ENV.key} / ${CODEC_ENV.oldKeys})`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadDecryptionError(`payload encrypted with key "${id}" does not decrypt: wrong key or altered data`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The codecs of a data converter for clients and workers: one AES-GCM codec when keys are configured. */
export function payloadCodecsFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadCodec[] {
  const keys = codecKeysFromEnv(env);
  return keys ? [new AesGcmCodec(keys)] : [];
}
