import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { freePorts } from '../../src/dev/net';
import { isAlive } from '../../src/dev/processes';
import type { StackStatus } from '../../src/dev/status';
import { runCli } from '../helpers/cli';

// The CLI must start its own MongoDB-compatible server here, whatever the caller's environment says.
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.EVALCTL_MONGO_URL;

describe('evalctl dev up / status / down', () => {
  let dataDir = '';
  let otherDir = '';
  let ports: number[] = [];
  let upArgs: string[] = [];
  const seenPids = new Set<number>();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'evalctl-e2e-'));
    otherDir = await mkdtemp(join(tmpdir(), 'evalctl-e2e-other-'));
    ports = await freePorts(3);
    upArgs = ['dev', 'up', '--data-dir', dataDir, '--temporal-port', String(ports[0]), '--ui-port', String(ports[1]), '--mongo-port', String(ports[2])];
  });

  after(async () => {
    // Whatever failed above, leave nothing running.
    await runCli(['dev', 'down', '--data-dir', dataDir], { env });
    await runCli(['dev', 'down', '--data-dir', otherDir], { env });
    await rm(dataDir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });

  async function status(): Promise<{ code: number; status: StackStatus }> {
    const r = await runCli(['dev', 'status', '--data-dir', dataDir, '--json'], { env });
    return { code: r.code, status: JSON.parse(r.stdout) as StackStatus };
  }

  test('up starts both servers and prints where they answer', async () => {
    const r = await runCli(upArgs, { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Temporal address: 127\\.0\\.0\\.1:${ports[0]}`));
    assert.match(r.stdout, new RegExp(`http://127\\.0\\.0\\.1:${ports[1]}`));
    assert.match(r.stdout, new RegExp(`mongodb://127\\.0\\.0\\.1:${ports[2]}/evalctl`));
  });

  test('the Web UI answers HTTP 200', async () => {
    const res = await fetch(`http://127.0.0.1:${ports[1]}/`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<html/i);
  });

  test('status --json reports both parts healthy', async () => {
    const { code, status: s } = await status();
    assert.equal(code, 0);
    assert.equal(s.healthy, true);
    assert.equal(s.temporal.healthy, true);
    assert.equal(s.temporal.address, `127.0.0.1:${ports[0]}`);
    assert.equal(s.mongo.healthy, true);
    for (const pid of [s.temporal.pid, s.mongo.pid]) {
      assert.ok(pid && isAlive(pid), `pid ${pid} should be alive`);
      seenPids.add(pid);
    }
  });

  test('a second up says it is already running and changes nothing', async () => {
    const r = await runCli(upArgs, { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /already running/);
    const { status: s } = await status();
    assert.deepEqual(new Set([s.temporal.pid, s.mongo.pid]), seenPids);
  });

  test('a port in use is a usage error (exit 2) and starts nothing', async () => {
    const r = await runCli(['dev', 'up', '--data-dir', otherDir, '--temporal-port', String(ports[0]), '--ui-port', '0', '--mongo-port', '0'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`port ${ports[0]} .*already in use`));
    assert.equal(existsSync(join(otherDir, 'temporal.pid.json')) || existsSync(join(otherDir, 'mongo.pid.json')), false);
  });

  test('a malformed port is a usage error (exit 2)', async () => {
    const r = await runCli(['dev', 'up', '--data-dir', otherDir, '--temporal-port', '99999'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--temporal-port/);
  });

  test('data survives down and up', async () => {
    const url = `mongodb://127.0.0.1:${ports[2]}/evalctl`;
    const write = await MongoClient.connect(url);
    await write.db().collection<{ _id: string }>('e2e').updateOne({ _id: 'kept' }, { $set: { v: 42 } }, { upsert: true });
    await write.close();
    assert.equal((await runCli(['dev', 'down', '--data-dir', dataDir], { env })).code, 0);
    const up = await runCli(upArgs, { env });
    assert.equal(up.code, 0, up.stderr);
    const { status: s } = await status();
    for (const pid of [s.temporal.pid, s.mongo.pid]) if (pid) seenPids.add(pid);
    const read = await MongoClient.connect(url);
    const doc = await read.db().collection<{ _id: string; v: number }>('e2e').findOne({ _id: 'kept' });
    await read.close();
    assert.equal(doc?.v, 42);
  });

  test('down stops every process up started and waits until they are gone', async () => {
    const r = await runCli(['dev', 'down', '--data-dir', dataDir], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopped temporal and mongo/);
    assert.ok(seenPids.size >= 2);
    for (const pid of seenPids) assert.equal(isAlive(pid), false, `pid ${pid} still alive after dev down`);
    const { code, status: s } = await status();
    assert.equal(code, 1);
    assert.equal(s.temporal.running, false);
    assert.equal(s.mongo.running, false);
  });
});
