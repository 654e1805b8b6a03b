import { Command, InvalidArgumentError } from 'commander';
import { connectionFromCommand, redactUrl } from '../config/connection';
import { ensureViewerIndexes, openStore } from '../store/store';
import { uiBaseUrl } from '../temporal/client';
import { startViewer } from '../viewer/server';
import { RunFailedError, UsageError } from './errors';
import { messageOf } from './services';

/** Port `evalctl view` listens on unless told otherwise. */
export const VIEW_DEFAULT_PORT = 8484;

function parsePort(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 (any free port) to 65535.');
  return n;
}

function parseHost(value: string): string {
  const host = value.trim();
  if (!/^[A-Za-z0-9.-]+$/.test(host) && !/^[0-9A-Fa-f:]+$/.test(host)) throw new InvalidArgumentError('a host is an IP address or a host name.');
  return host;
}

/** Resolves once the process is asked to stop (Ctrl-C or a TERM signal). */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(signal);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/**
 * `evalctl view`: a local, read-only web app over the MongoDB the CLI uses: assignments, samples,
 * transcripts, comparisons and leaderboards. Bound to 127.0.0.1 unless told otherwise; runs until stopped.
 */
export function viewCommand(): Command {
  return new Command('view')
    .description('browse results in a local web app (read-only): assignments, samples, transcripts, comparisons, leaderboards')
    .option('--port <n>', 'port to listen on (0: any free port)', parsePort, VIEW_DEFAULT_PORT)
    .option('--host <address>', 'address to listen on; anything but 127.0.0.1 shows every result to the network', parseHost, '127.0.0.1')
    .action(async (opts: { port: number; host: string }, command: Command) => {
      const connection = connectionFromCommand(command);
      const store = await openStore(connection.mongoUrl).catch((err: unknown) => {
        throw new RunFailedError(`cannot reach MongoDB at ${redactUrl(connection.mongoUrl)} (${messageOf(err)}); start one with \`evalctl dev up\` or set --mongo-url / EVALCTL_MONGO_URL`);
      });
      try {
        await ensureViewerIndexes(store);
        const viewer = await startViewer(store, { host: opts.host, port: opts.port, uiBase: uiBaseUrl(), namespace: connection.temporalNamespace }).catch((err: unknown) => {
          const code = (err as { code?: string }).code;
          if (code === 'EADDRINUSE') throw new UsageError(`--port ${opts.port}: the port is in use (pick another, or 0 for any free port)`);
          if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new UsageError(`--host ${opts.host}: not an address of this machine`);
          throw err;
        });
        process.stdout.write(`evalctl view: ${viewer.url}\n`);
        process.stderr.write('evalctl view: read-only; Ctrl-C stops it\n');
        await untilSignal();
        await viewer.close();
      } finally {
        await store.close();
      }
    });
}
