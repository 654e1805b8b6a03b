import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { MongoClient, MongoServerError } from 'mongodb';
import { echoWorkflow } from '../fixtures/workflows/echo';
import { useTestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

// Worker INFO lines (bundle sizes, state changes) would bury the test report.
Runtime.install({ logger: new DefaultLogger('WARN') });

const stack = useTestStack();

const EvalAssignment = defineSearchAttributeKey('EvalAssignment', SearchAttributeType.KEYWORD);

async function withClient<T>(fn: (client: Client, connection: NativeConnection) => Promise<T>): Promise<T> {
  const { temporalAddress: address, namespace } = stack();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  try {
    return await fn(new Client({ connection, namespace }), native);
  } finally {
    await native.close();
    await connection.close();
  }
}

describe('Temporal dev server of the harness', () => {
  test('a workflow with one activity round-trips and carries an evalctl search attribute', async () => {
    await withClient(async (client, connection) => {
      const taskQueue = `test-echo-${randomUUID()}`;
      const assignment = `a-${randomUUID()}`;
      const worker = await Worker.create({
        connection,
        namespace: stack().namespace,
        taskQueue,
        workflowsPath: require.resolve('../fixtures/workflows/echo'),
        activities: { echo: async (m: string) => `echo: ${m}` },
      });
      const result = await worker.runUntil(
        client.workflow.execute(echoWorkflow, {
          taskQueue,
          workflowId: `test/echo/${randomUUID()}`,
          args: ['hello'],
          typedSearchAttributes: [{ key: EvalAssignment, value: assignment }],
        }),
      );
      assert.equal(result, 'echo: hello');
      // The search attribute was registered by `start-dev --search-attribute`: visibility finds the run by it.
      const found = await waitFor(
        async () => {
          for await (const wf of client.workflow.list({ query: `EvalAssignment = "${assignment}"` })) return wf;
          return undefined;
        },
        { timeoutMs: 15_000, message: 'the workflow to be visible by EvalAssignment' },
      );
      assert.equal(found.status.name, 'COMPLETED');
      assert.equal(found.typedSearchAttributes.get(EvalAssignment), assignment);
    });
  });

  test('workflow history survives a restart of the dev server', async () => {
    const workflowId = `test/restart/${randomUUID()}`;
    await withClient(async (client) => {
      await client.workflow.start('neverPolled', { taskQueue: `test-idle-${randomUUID()}`, workflowId });
    });
    await stack().stopTemporal();
    await stack().startTemporal();
    await withClient(async (client) => {
      const desc = await client.workflow.getHandle(workflowId).describe();
      assert.equal(desc.status.name, 'RUNNING');
      await client.workflow.getHandle(workflowId).terminate('test done');
    });
  });
});

describe('MongoDB-compatible server of the harness', () => {
  test('a document is written and read back, and a unique index rejects a duplicate', async () => {
    const client = await MongoClient.connect(stack().mongoUrl);
    try {
      const results = client.db().collection<{ key: string; score: number }>('results');
      await results.createIndex({ key: 1 }, { unique: true });
      await results.insertOne({ key: 'sample-1', score: 0.75 });
      const read = await results.findOne({ key: 'sample-1' }, { projection: { _id: 0 } });
      assert.deepEqual(read, { key: 'sample-1', score: 0.75 });
      await assert.rejects(results.insertOne({ key: 'sample-1', score: 1 }), (err: unknown) => err instanceof MongoServerError && err.code === 11000);
      assert.equal(await results.countDocuments({ key: 'sample-1' }), 1);
    } finally {
      await client.close();
    }
  });

  test('data survives a restart of the MongoDB server', async () => {
    const url = stack().mongoUrl;
    const write = await MongoClient.connect(url);
    try {
      await write.db().collection<{ _id: string; n: number }>('events').updateOne({ _id: 'restart' }, { $set: { n: 1 } }, { upsert: true });
    } finally {
      await write.close();
    }
    await stack().stopMongo();
    await stack().startMongo();
    const read = await MongoClient.connect(url);
    try {
      const doc = await read.db().collection<{ _id: string; n: number }>('events').findOne({ _id: 'restart' });
      assert.equal(doc?.n, 1);
    } finally {
      await read.close();
    }
  });
});
