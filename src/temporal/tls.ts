import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { UsageError } from '../cli/errors';
import type { TemporalTlsFiles } from '../config/connection';

function readPem(file: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new UsageError(`${what} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new UsageError(`${what} ${file}: not a PEM file (no -----BEGIN line)`);
  return pem;
}

/**
 * The SDK's TLS config (for Connection.connect and NativeConnection.connect) from the TLS settings:
 * certificates read now, so a missing or malformed file is a usage error naming it, before any connection.
 */
export function temporalTlsConfig(files: TemporalTlsFiles | undefined): TLSConfig | undefined {
  if (!files) return undefined;
  const config: TLSConfig = {};
  if (files.ca) config.serverRootCACertificate = readPem(files.ca, '--tls-ca');
  if (files.cert && files.key) config.clientCertPair = { crt: readPem(files.cert, '--tls-cert'), key: readPem(files.key, '--tls-key') };
  if (files.serverName) config.serverNameOverride = files.serverName;
  return config;
}
