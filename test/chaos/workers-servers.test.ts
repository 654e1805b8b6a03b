import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestStack } from '../helpers/stack';
import { mongoOutage, temporalKill, workerKills } from './scenarios';

/**
 * Fault injection on real processes (`npm run chaos`): workers, the Temporal dev server and the
 * MongoDB-compatible server die or go away mid-run; nothing is lost and nothing is done twice.
 */
const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-chaos-'));

test('2,000 samples, 10 random SIGKILLs of the worker: completes, one result per sample, calls <= samples + in flight', async (t) => {
  await workerKills({ t, stack: getStack(), dir, name: 'kills' }, 2000, 10);
});

test('Temporal dev server SIGKILLed mid-run and restarted on the same data: the assignment completes', async (t) => {
  await temporalKill({ t, stack: getStack(), dir, name: 'temporal-kill' }, 600);
});

test('MongoDB-compatible server stopped for 30 s mid-run: no sample fails, every result is stored', async (t) => {
  await mongoOutage({ t, stack: getStack(), dir, name: 'mongo-down' }, 600, 30_000);
});
