import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestStack } from '../helpers/stack';
import { cancels, endpointFaults } from './scenarios-endpoint-cancel';

/** Fault injection (`npm run chaos`): a misbehaving model endpoint, and cancels in every phase of a run. */
const getStack = useTestStack();
const dir = mkdtempSync(join(tmpdir(), 'evalctl-chaos-'));

test('the endpoint answers 429 or 503 to half the calls for 20 s: completes, results count every retry', async (t) => {
  await endpointFaults({ t, stack: getStack(), dir, name: 'endpoint' }, 400, 20_000);
});

test('cancel during planning and during the run: canceled in MongoDB and Temporal, no call starts after cancel returns', async (t) => {
  await cancels({ t, stack: getStack(), dir, name: 'cancels' }, 1000, ['planning', 'run']);
});

// A cancel that arrives while finalizeAssignment runs (it cannot be interrupted) still ends the run canceled.
test('cancel during finalisation: canceled in MongoDB and Temporal', async (t) => {
  await cancels({ t, stack: getStack(), dir, name: 'cancels-final' }, 1000, ['finalisation']);
});
