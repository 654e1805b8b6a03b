import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startManyWorkflow, type StartMode } from '../fixtures/workflows/cancel-starts';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

Runtime.install({ logger: new DefaultLogger('WARN') });

const stack = useTestStack();

/** Starts the parent, cancels it as soon as its first child starts are initiated, and says how it closed. */
async function cancelDuringStarts(client: Client, taskQueue: string, mode: StartMode, n: number): Promise<{ status: string; pendingAtCancel: number }> {
  const handle = await client.workflow.start(startManyWorkflow, { taskQueue, workflowId: `test/cancel-starts/${randomUUID()}`, args: [n, mode] });
  // Cancel while the server is still starting children: some are initiated, not all started.
  const { pending } = await waitFor(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const initiated = events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
    const started = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes).length;
    return initiated > 0 ? { pending: initiated - started } : undefined;
  }, { intervalMs: 5, message: 'child starts to be initiated' });
  await handle.cancel();
  const closed = await waitFor(async () => {
    const status = (await handle.describe()).status.name;
    return status === 'RUNNING' ? undefined : status;
  }, { timeoutMs: 30_000, intervalMs: 200, message: `the ${mode} parent to close after its cancel` });
  return { status: closed, pendingAtCancel: pending };
}

test('a parent canceled while its abandoned children are still starting closes (shielded starts)', async () => {
  const { temporalAddress: address, namespace } = stack();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace });
  const taskQueue = `test-cancel-starts-${randomUUID()}`;
  const worker = await Worker.create({ connection: native, namespace, taskQueue, workflowsPath: require.resolve('../fixtures/workflows/cancel-starts') });
  try {
    await worker.runUntil(async () => {
      let pending = 0;
      for (let round = 0; round < 5; round++) {
        const { status, pendingAtCancel } = await cancelDuringStarts(client, taskQueue, 'shielded', 50);
        assert.equal(status, 'COMPLETED', `round ${round}: the parent returns its canceled outcome`);
        pending += pendingAtCancel;
      }
      // The test means something only if cancels did land among pending starts.
      assert.ok(pending > 0, 'some cancels landed while child starts were pending');
    });
  } finally {
    await native.close();
    await connection.close();
  }
});
