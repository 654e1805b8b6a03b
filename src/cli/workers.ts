import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CONNECTION_ENV, connectionFromCommand } from '../config/connection';
import { ConfigError } from '../config/errors';
import { FleetSupervisor } from '../worker/fleet';
import { fleetFromPairs, fleetMembers, loadFleetConfig, type FleetConfig } from '../worker/fleet-config';
import { fleetQueues, listPollers, liveAssignmentQueues, queueSet, type PollerRow } from '../worker/pollers';
import { AssignmentConfigSchema } from '../config/schema';
import { isAlivePoller, queuesNeeded } from '../control/queue-check';
import type { Store } from '../store/store';
import { UsageError } from './errors';
import { printJson, withServices } from './services';

interface StartOptions {
  config?: string;
  start?: string[];
  basePort?: string;
  logDir?: string;
}

interface ListOptions {
  json?: boolean;
  config?: string;
  queue?: string[];
  all?: boolean;
}

/** `evalctl workers start|list`: run a supervised fleet of workers on this host, or list every poller. */
export function workersCommand(): Command {
  const cmd = new Command('workers').description('start a supervised fleet of workers, or list every worker polling evalctl queues');
  cmd
    .command('start')
    .description('start N workers per type (from -c configs/workers.yaml or --start inference 2 scoring 1) and supervise them until SIGINT/SIGTERM')
    .addOption(new Option('-c, --config <file>', 'fleet config (YAML)'))
    .addOption(new Option('--start <pairs...>', 'pairs of <type> <count>, e.g. inference 2 scoring 1; task workers of an agent environment: task:<environment> <count>'))
    .addOption(new Option('--base-port <n>', 'worker i serves /healthz and /metrics on base-port + i'))
    .addOption(new Option('--log-dir <dir>', 'directory of the per-worker log files (default logs/workers)'))
    .action(async (opts: StartOptions, command: Command) => startFleet(await fleetConfigOf(opts), command));
  cmd
    .command('list')
    .description('list every worker polling an evalctl queue: host, pid, type, GPU tag, slots, last seen')
    .addOption(new Option('--json', 'print JSON for scripts'))
    .addOption(new Option('-c, --config <file>', 'also ask about the queues of this fleet config'))
    .addOption(new Option('--queue <names...>', 'also ask about these queues'))
    .addOption(new Option('--all', 'also list pollers that look gone (not seen for 90 s, or a process of this host that has exited)'))
    .action(async (opts: ListOptions, command: Command) => listWorkers(opts, command));
  return cmd;
}

/** The fleet asked for on the command line; flags override the file's ports and log dir. */
async function fleetConfigOf(opts: StartOptions): Promise<FleetConfig> {
  if ((opts.config === undefined) === (opts.start === undefined)) throw new UsageError('workers start: give either -c <fleet.yaml> or --start <type> <count> ...');
  const basePort = opts.basePort === undefined ? undefined : Number(opts.basePort);
  if (basePort !== undefined && (!Number.isInteger(basePort) || basePort < 1 || basePort > 65_000)) throw new UsageError(`--base-port: expected a port number, got "${opts.basePort}"`);
  const logDir = opts.logDir === undefined ? undefined : resolve(opts.logDir);
  try {
    if (opts.start) return fleetFromPairs(opts.start, { basePort, logDir: logDir ?? resolve('logs/workers') });
    const config = await loadFleetConfig(opts.config as string);
    return { ...config, ...(basePort === undefined ? {} : { basePort }), ...(logDir ? { logDir } : {}) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid fleet config:\n${err.message}`);
    throw err;
  }
}

/** Runs the supervisor in the foreground until SIGINT/SIGTERM, then stops every worker. */
async function startFleet(config: FleetConfig, command: Command): Promise<void> {
  let members;
  try {
    members = fleetMembers(config);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid fleet config:\n${err.message}`);
    throw err;
  }
  const conn = connectionFromCommand(command);
  const env = {
    ...process.env,
    [CONNECTION_ENV.temporalAddress]: conn.temporalAddress, [CONNECTION_ENV.temporalNamespace]: conn.temporalNamespace, [CONNECTION_ENV.mongoUrl]: conn.mongoUrl,
  };
  const supervisor = new FleetSupervisor({ members, logDir: config.logDir, restart: config.restart, stopTimeoutMs: config.stopTimeoutMs, env });
  supervisor.start();
  process.stderr.write(`fleet started: ${members.length} workers, logs in ${config.logDir} (SIGINT/SIGTERM stops them all)\n`);
  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      process.stderr.write(`fleet: ${signal} received, stopping ${members.length} workers\n`);
      supervisor.stop().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  process.stderr.write('fleet stopped\n');
}

/** A queue that running assignments send work to while no live worker polls it. */
interface UnpolledQueue {
  queue: string;
  assignments: string[];
  hint: string;
}

/** The queues the pending and running assignments need, by queue, with the command that would serve each. */
async function queuesWithWork(store: Store): Promise<Map<string, { assignments: string[]; hint: string }>> {
  const out = new Map<string, { assignments: string[]; hint: string }>();
  const live = store.assignments.find({ status: { $in: ['pending', 'running'] }, paused: { $ne: true } }, { projection: { config: 1 } });
  for await (const doc of live) {
    const config = AssignmentConfigSchema.safeParse(doc.config);
    if (!config.success) continue;
    for (const need of queuesNeeded(config.data)) {
      const entry = out.get(need.queue) ?? { assignments: [], hint: need.hint };
      entry.assignments.push(doc._id);
      out.set(need.queue, entry);
    }
  }
  return out;
}

/**
 * Asks Temporal for the pollers of every known evalctl queue and prints the live ones (`--all`: every
 * one Temporal still lists), then warns about each queue that running assignments need and no live
 * worker polls: their work waits there.
 */
async function listWorkers(opts: ListOptions, command: Command): Promise<void> {
  const fromFleet = opts.config ? fleetQueues(await loadFleetConfig(opts.config).catch((err: unknown) => {
    throw err instanceof ConfigError ? new UsageError(`invalid fleet config:\n${err.message}`) : err;
  })) : [];
  await withServices(command, async ({ store, temporal, connection }) => {
    const work = await queuesWithWork(store);
    const queues = queueSet([...(await liveAssignmentQueues(store)), ...fromFleet, ...(opts.queue ?? []), ...work.keys()]);
    const all = await listPollers(temporal.client, connection.temporalNamespace, queues);
    const alive = all.filter((r) => isAlivePoller(r));
    const polled = new Set(alive.flatMap((r) => r.queues.map((q) => q.replace(/ \(.*\)$/, ''))));
    const unpolled: UnpolledQueue[] = [...work].filter(([queue]) => !polled.has(queue)).map(([queue, w]) => ({ queue, ...w }));
    const rows = opts.all ? all : alive;
    if (opts.json) return printJson({ queues, workers: rows, unpolled });
    process.stdout.write(table(rows));
    if (!opts.all && all.length > alive.length) process.stdout.write(`(${all.length - alive.length} gone worker(s) not shown; --all lists them)\n`);
    for (const u of unpolled) {
      process.stderr.write(`warning: ${u.queue} has work (${u.assignments.slice(0, 3).join(', ')}${u.assignments.length > 3 ? ', ...' : ''}) and no worker polls it: ${u.hint}\n`);
    }
  });
}

function table(rows: PollerRow[]): string {
  if (rows.length === 0) return 'no workers are polling evalctl queues\n';
  const now = Date.now();
  const lines = [['TYPE', 'HOST', 'PID', 'GPU', 'SLOTS', 'NAME', 'LAST SEEN', 'QUEUES']];
  for (const r of rows) {
    const w = r.worker;
    const ago = `${Math.max(0, Math.round((now - Date.parse(r.lastSeen)) / 1000))}s ago`;
    const queues = [...new Set(r.queues.map((q) => q.replace(/ \(.*\)$/, '')))].join(',');
    lines.push([w?.type ?? '?', w?.host ?? r.identity, w ? String(w.pid) : '', w?.gpuType ?? '', w ? String(w.slots) : '', w?.name ?? '', ago, queues]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return `${lines.map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n')}\n`;
}
