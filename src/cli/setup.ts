import { Command, Option } from 'commander';
import { connectionFromCommand } from '../config/connection';
import { connectTemporal } from '../temporal/client';
import { NamespaceNotReadyError, setupNamespace } from '../temporal/setup';
import { RunFailedError, UsageError } from './errors';
import { messageOf, printJson } from './services';

/**
 * `evalctl setup`: makes a Temporal server ready for evalctl once: creates the namespace when it is missing
 * and registers evalctl's search attributes. Safe to run again. `dev up` does this for the local stack.
 */
export function setupCommand(): Command {
  return new Command('setup')
    .description("create the Temporal namespace if missing and register evalctl's search attributes (idempotent)")
    .addOption(new Option('--retention <days>', 'retention of closed workflows when the namespace is created').default('7'))
    .option('--json', 'print JSON {namespace, createdNamespace, addedAttributes} on stdout')
    .action(async (opts: { retention: string; json?: boolean }, command: Command) => {
      const days = Number(opts.retention);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError(`--retention: expected whole days from 1 to 3650, got "${opts.retention}"`);
      const connection = connectionFromCommand(command);
      const handle = await connectTemporal(connection).catch((err: unknown) => {
        throw new RunFailedError(`cannot reach Temporal at ${connection.temporalAddress} (${messageOf(err)}); set --address / TEMPORAL_ADDRESS`);
      });
      try {
        const result = await setupNamespace(handle.connection, { namespace: connection.temporalNamespace, retentionDays: days });
        if (opts.json) printJson(result);
        else {
          const done = [
            result.createdNamespace ? `created namespace ${result.namespace} (retention ${days} days)` : `namespace ${result.namespace} exists`,
            result.addedAttributes.length ? `registered ${result.addedAttributes.join(', ')}` : 'every evalctl search attribute was registered already',
          ];
          process.stdout.write(`${done.join('; ')}\n`);
        }
      } catch (err) {
        if (err instanceof NamespaceNotReadyError) throw new RunFailedError(err.message);
        throw err;
      } finally {
        await handle.close();
      }
    });
}
