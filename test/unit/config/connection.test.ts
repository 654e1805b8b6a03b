import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addConnectionOptions, CONNECTION_DEFAULTS, connectionFromCommand, redactUrl, resolveConnection } from '../../../src/config/connection';
import { UsageError } from '../../../src/cli/errors';

test('defaults match the local dev stack', () => {
  assert.deepEqual(resolveConnection({}, {}), {
    temporalAddress: '127.0.0.1:7233',
    temporalNamespace: 'default',
    mongoUrl: 'mongodb://127.0.0.1:27017/evalctl',
  });
  assert.deepEqual(resolveConnection({}, {}), CONNECTION_DEFAULTS);
});

test('a flag beats its environment variable, which beats the default', () => {
  const env = { TEMPORAL_ADDRESS: 'env:1', TEMPORAL_NAMESPACE: 'envns', EVALCTL_MONGO_URL: 'mongodb://env:2/db' };
  assert.deepEqual(resolveConnection({}, env), { temporalAddress: 'env:1', temporalNamespace: 'envns', mongoUrl: 'mongodb://env:2/db' });
  assert.deepEqual(resolveConnection({ address: 'flag:3', namespace: 'flagns', mongoUrl: 'mongodb+srv://flag/db' }, env), {
    temporalAddress: 'flag:3',
    temporalNamespace: 'flagns',
    mongoUrl: 'mongodb+srv://flag/db',
  });
  // An empty variable counts as unset rather than as an empty address.
  assert.equal(resolveConnection({}, { TEMPORAL_ADDRESS: '' }).temporalAddress, '127.0.0.1:7233');
});

test('malformed values are usage errors that name the flag and the variable', () => {
  assert.throws(() => resolveConnection({ address: 'localhost' }, {}), (e: unknown) => e instanceof UsageError && /--address \/ TEMPORAL_ADDRESS/.test(e.message));
  assert.throws(() => resolveConnection({}, { EVALCTL_MONGO_URL: 'http://u:secret@h/db' }), (e: unknown) => e instanceof UsageError && /--mongo-url/.test(e.message) && !/secret/.test(e.message));
  assert.equal(resolveConnection({ address: '[::1]:7233' }, {}).temporalAddress, '[::1]:7233');
});

test('options added to the root program reach subcommands', async () => {
  let seen = resolveConnection({}, {});
  const program = addConnectionOptions(new Command('evalctl').exitOverride());
  program.addCommand(new Command('probe').action((_opts, cmd: Command) => {
    seen = connectionFromCommand(cmd, { TEMPORAL_NAMESPACE: 'from-env' });
  }));
  await program.parseAsync(['node', 'evalctl', '--address', 'h:9', 'probe']);
  assert.equal(seen.temporalAddress, 'h:9');
  assert.equal(seen.temporalNamespace, 'from-env');
});

test('redactUrl hides the password of a MongoDB URL', () => {
  assert.equal(redactUrl('mongodb://user:pw@h:1/db'), 'mongodb://user:***@h:1/db');
  assert.equal(redactUrl('mongodb://h:1/db'), 'mongodb://h:1/db');
});
