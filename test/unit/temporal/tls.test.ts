import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../../src/cli/errors';
import { addConnectionOptions, connectionFromCommand, resolveConnection, resolveTls } from '../../../src/config/connection';
import { temporalTlsConfig } from '../../../src/temporal/tls';

const dir = mkdtempSync(join(tmpdir(), 'evalctl-tls-'));
const pem = (name: string): string => {
  const file = join(dir, name);
  writeFileSync(file, `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`);
  return file;
};

test('no TLS settings: plain TCP (no tls in the connection config)', () => {
  assert.equal(resolveTls({}, {}), undefined);
  assert.equal(resolveConnection({}, {}).tls, undefined);
  assert.equal(resolveTls({}, { EVALCTL_TEMPORAL_TLS: '0' }), undefined);
});

test('--tls or EVALCTL_TEMPORAL_TLS=1 alone: TLS with the system CAs', () => {
  assert.deepEqual(resolveTls({ tls: true }, {}), {});
  assert.deepEqual(resolveTls({}, { EVALCTL_TEMPORAL_TLS: 'true' }), {});
  assert.deepEqual(temporalTlsConfig({}), {});
});

test('flags beat the environment; any --tls-* implies TLS; cert and key make mTLS', () => {
  const env = { EVALCTL_TEMPORAL_TLS_CA: '/env/ca.pem', EVALCTL_TEMPORAL_TLS_CERT: '/env/c.pem', EVALCTL_TEMPORAL_TLS_KEY: '/env/k.pem' };
  assert.deepEqual(resolveTls({}, env), { ca: '/env/ca.pem', cert: '/env/c.pem', key: '/env/k.pem' });
  assert.deepEqual(resolveTls({ tlsCa: '/flag/ca.pem', tlsServerName: 'temporal.internal' }, env), { ca: '/flag/ca.pem', cert: '/env/c.pem', key: '/env/k.pem', serverName: 'temporal.internal' });
  const cmd = addConnectionOptions(new Command('evalctl')).exitOverride();
  cmd.parse(['node', 'evalctl', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--address', 'temporal:7233'], { from: 'node' });
  assert.deepEqual(connectionFromCommand(cmd, {}).tls, { cert: 'c.pem', key: 'k.pem' });
});

test('half an mTLS pair or a bad EVALCTL_TEMPORAL_TLS value is a usage error', () => {
  assert.throws(() => resolveTls({ tlsCert: 'c.pem' }, {}), (e: unknown) => e instanceof UsageError && /go together/.test(e.message));
  assert.throws(() => resolveTls({}, { EVALCTL_TEMPORAL_TLS_KEY: 'k.pem' }), UsageError);
  assert.throws(() => resolveTls({}, { EVALCTL_TEMPORAL_TLS: 'yes please' }), /must be 1, true, 0 or false/);
});

test('the SDK config: files read as bytes; a missing or non-PEM file is a usage error naming it', () => {
  const config = temporalTlsConfig({ ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key'), serverName: 'temporal.internal' });
  assert.match(Buffer.from(config!.serverRootCACertificate!).toString(), /ca\.pem/);
  assert.match(Buffer.from(config!.clientCertPair!.crt).toString(), /client\.pem/);
  assert.match(Buffer.from(config!.clientCertPair!.key).toString(), /client\.key/);
  assert.equal(config!.serverNameOverride, 'temporal.internal');
  assert.throws(() => temporalTlsConfig({ ca: join(dir, 'missing.pem') }), (e: unknown) => e instanceof UsageError && /--tls-ca .*missing\.pem: cannot read it \(ENOENT\)/.test(e.message));
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate');
  assert.throws(() => temporalTlsConfig({ cert: junk, key: pem('k.pem') }), /--tls-cert .*junk\.pem: not a PEM file/);
});
