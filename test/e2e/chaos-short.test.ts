import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestStack } from '../helpers/stack';
import { mongoOutage, workerKills } from '../chaos/scenarios';

/**
 * A short subset of the fault-injection suite (`npm run chaos` runs the full one): a few worker kills on a
 * small assignment and a short database outage, so `npm test` still proves nothing is lost or done twice.
 */
const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-chaos-short-'));

test('200 samples, 3 random SIGKILLs of the worker: completes, one result per sample, no stored sample called again', async (t) => {
  await workerKills({ t, stack: getStack(), dir, name: 'short-kills' }, 200, 3);
});

test('MongoDB server stopped for 10 s mid-run: no sample fails, every result is stored', async (t) => {
  await mongoOutage({ t, stack: getStack(), dir, name: 'short-mongo' }, 200, 10_000);
});
