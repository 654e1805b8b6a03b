import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { SEARCH_ATTRIBUTES } from '../../../src/contracts';
import { freePorts, isPortFree, PortInUseError } from '../../../src/dev/net';
import { temporalArgs } from '../../../src/dev/stack';
import { defaultDataDir } from '../../../src/dev/state';
import { withDbName } from '../../helpers/stack';

test('the default data dir is per user, overridable by EVALCTL_DEV_DIR and XDG_DATA_HOME', () => {
  assert.equal(defaultDataDir({}, '/home/u'), '/home/u/.local/share/evalctl/dev');
  assert.equal(defaultDataDir({ XDG_DATA_HOME: '/data' }, '/home/u'), '/data/evalctl/dev');
  assert.equal(defaultDataDir({ EVALCTL_DEV_DIR: '/x/dev', XDG_DATA_HOME: '/data' }, '/home/u'), '/x/dev');
});

test('start-dev gets WAL SQLite, every evalctl search attribute and all its ports on 127.0.0.1', () => {
  const args = temporalArgs({ port: 1, uiPort: 2, httpPort: 3, metricsPort: 4, namespace: 'default' }, '/d/t.sqlite');
  const joined = args.join(' ');
  assert.match(joined, /--sqlite-pragma journal_mode=WAL/);
  assert.match(joined, /--db-filename \/d\/t\.sqlite/);
  assert.match(joined, /--port 1 --ui-port 2 --http-port 3 --metrics-port 4/);
  assert.match(joined, /--ip 127\.0\.0\.1 --ui-ip 127\.0\.0\.1/);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.ok(args.includes(`${name}=${type}`), name);
  assert.ok(!args.includes('--headless'), 'the Web UI stays on');
});

test('freePorts hands out distinct free ports, and a listening port is reported taken', async () => {
  const ports = await freePorts(3);
  assert.equal(new Set(ports).size, 3);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
  try {
    assert.equal(await isPortFree(ports[0]), false);
    assert.equal(await isPortFree(ports[1]), true);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.match(new PortInUseError(7233, 'Temporal frontend', '--temporal-port').message, /7233 .*already in use.*--temporal-port/);
});

test('withDbName puts the test database into any MongoDB URL', () => {
  assert.equal(withDbName('mongodb://127.0.0.1:1/evalctl', 't1'), 'mongodb://127.0.0.1:1/t1');
  assert.equal(withDbName('mongodb://h:1', 't1'), 'mongodb://h:1/t1');
  assert.equal(withDbName('mongodb://u:p@a:1,b:2/x?replicaSet=rs', 't1'), 'mongodb://u:p@a:1,b:2/t1?replicaSet=rs');
});
