import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentBenchEnvironment } from '../../src/environments/agentbench';
import { ControllerRestartedError, EnvironmentBusyError, NoCapacityError, SessionLostError, UnknownTaskError, type Environment } from '../../src/environments';
import { parseHandle, sessionHandle } from '../../src/environments/agentbench';
import { filterMessages, type Item } from '../fixtures/agentbench-worker';
import { startAgentBenchServer, type AgentBenchServer } from '../fixtures/agentbench-server';
import { waitFor } from '../helpers/wait';
import type { EnvironmentTurn } from '../../src/contracts';

/** The client against the AgentBench fixture alone: what each answer means, without Temporal. */

const never = new AbortController().signal;
const client = (server: AgentBenchServer, task = 'echo'): Environment =>
  agentBenchEnvironment({ url: server.url, task, retryAfterMs: 100, requestTimeoutMs: 30_000 });

async function withServer(opts: Parameters<typeof startAgentBenchServer>[0], body: (s: AgentBenchServer) => Promise<void>): Promise<void> {
  const server = await startAgentBenchServer(opts);
  try {
    await waitFor(async () => (await fetch(`${server.url}/get_indices?name=${opts.task}`)).ok, { timeoutMs: 5_000, message: 'workers registered' });
    await body(server);
  } finally {
    await server.close();
  }
}

test('the history handed on is the one AgentBench returns, whole: rewritten and truncated', async () => {
  await withServer({ task: 'echo', count: 8, concurrency: 4, script: { rounds: () => 6, rewrite: new Set([1]), thresholdSegments: 40, padding: 60 } }, async (server) => {
    const env = client(server);
    // Truncated: the instruction keeps its place with AgentBench's notice, older turns are dropped.
    const { session } = await env.start(2, never);
    const full: Item[] = [{ role: 'user', content: 'echo task 2: say anything' }];
    let turn: EnvironmentTurn | undefined;
    for (let i = 0; i < 3; i++) {
      const content = `reply ${i}`;
      turn = await env.step(session, { content }, never);
      full.push({ role: 'agent', content }, { role: 'user', content: `round ${i + 1} of sample 2: once more ${'observation '.repeat(5)}` });
      const expected = filterMessages(full, 40).map((m) => ({ role: m.role === 'agent' ? 'assistant' : 'user', content: m.content }));
      assert.deepEqual(turn.history, expected, `turn ${i}`);
    }
    assert.match(turn?.history[0].content ?? '', /\[NOTICE\] \d+ messages are omitted\./);
    // Rewritten: the task cleared its history and put back its own summary.
    const started = await env.start(1, never);
    const next = await env.step(started.session, { content: 'hello' }, never);
    assert.deepEqual(next.history, [{ role: 'user', content: 'summary of sample 1: the agent said "hello"' }]);
  });
});

test('unknown task, no capacity, a crash (501), a killed worker and a restarted controller', async () => {
  await withServer({ task: 'echo', count: 8, workers: 2, concurrency: 1, script: { rounds: () => 5, crash: new Set([4]) } }, async (server) => {
    await assert.rejects(client(server, 'nope').indices(), (e: Error) => e instanceof UnknownTaskError && /no such task/.test(e.message));
    await assert.rejects(client(server, 'nope').start(0, never), UnknownTaskError);
    const env = client(server);
    const a = await env.start(4, never);
    const b = await env.start(5, never);
    await assert.rejects(env.start(6, never), NoCapacityError);
    const crashed = await env.step(a.session, { content: 'x' }, never);
    assert.equal(crashed.status, 'task error');
    assert.match(String(crashed.result), /Traceback[\s\S]*crashed/);
    assert.equal(crashed.history[0].content, 'echo task 4: say anything');
    // Worker of b killed: a 400 "Worker not responding" restarts the episode.
    const slot = server.listSessions()[b.session.split('@')[0]].worker_id;
    server.killWorker(slot);
    await assert.rejects(env.step(b.session, { content: 'y' }, never), SessionLostError);
    server.reviveWorker(slot);
    // The restarted controller numbers sessions from 0 again: an old name is never taken for a new session.
    await server.restartController();
    await waitFor(async () => (await fetch(`${server.url}/get_indices?name=echo`)).ok, { timeoutMs: 5_000, message: 'workers registered again' });
    const c = await env.start(7, never);
    await assert.rejects(env.step(b.session, { content: 'z' }, never), SessionLostError);
    assert.equal(await env.cancel(b.session), 'gone');
    assert.ok(server.listSessions()[c.session.split('@')[0]], 'the new session was not cancelled by the old name');
    assert.equal(await env.cancel(c.session), 'cancelled');
  });
});

test('a controller refusing connections while it restarts: the turn counts its session as lost; an id never seen with its start time is not cancelled', async () => {
  await withServer({ task: 'echo', count: 4, concurrency: 2, script: { rounds: () => 5 } }, async (server) => {
    const env = client(server);
    const a = await env.start(0, never);
    // The listener is closed at once and comes back after a second, with a new process.
    const restart = server.restartController(1_000);
    await assert.rejects(env.step(a.session, { content: 'x' }, never), (e: Error) => e instanceof ControllerRestartedError && /no longer on the controller/.test(e.message));
    await restart;
    await waitFor(async () => (await fetch(`${server.url}/get_indices?name=echo`)).ok, { timeoutMs: 5_000, message: 'workers registered again' });
    // The new process numbers from 0 again; its worker still holds a's session 0, so the first start collides.
    await assert.rejects(env.start(1, never), SessionLostError);
    const c = await env.start(1, never);
    const { id } = parseHandle(c.session);
    // A session of the same id whose start time evalctl never saw (started as a controller restarted) is another one's now.
    assert.equal(await env.cancel(sessionHandle(id, undefined, 1)), 'gone');
    assert.ok(server.listSessions()[String(id)], 'the live session under that id was not cancelled');
    assert.equal(await env.cancel(c.session), 'cancelled');
  });
});

test('a cancel refused while an interact runs (500) passes once the turn returns', async () => {
  await withServer({ task: 'echo', count: 2, concurrency: 2, script: { rounds: () => 4, hang: new Set([0]), hangMs: 2_500 } }, async (server) => {
    const env = client(server);
    const s = await env.start(0, never);
    const hung = env.step(s.session, { content: 'x' }, never);
    await waitFor(() => server.listSessions()[s.session.split('@')[0]]?.locked, { timeoutMs: 5_000, message: 'the interact to hold the session lock' });
    await assert.rejects(env.cancel(s.session), EnvironmentBusyError);
    await hung;
    assert.equal(await env.cancel(s.session), 'cancelled');
    assert.deepEqual(server.listSessions(), {});
  });
});
