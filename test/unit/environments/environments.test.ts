import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TaskConfigSchema } from '../../../src/config/schema';
import { environmentQueue, sessionQueue } from '../../../src/contracts';
import { NO_VERDICT, episodeOutput, lastAgentMessage, scoreFromResult, chatRole } from '../../../src/environments';
import { agentPlanOf, openTaskSamples } from '../../../src/environments/samples';
import * as guess from '../../../src/environments/builtin/number-guess';
import { sessionRows } from '../../../src/cli/sessions';
import { fleetFromPairs, fleetMembers } from '../../../src/worker/fleet-config';

const AGENT = { id: 'g', kind: 'agent', environment: { kind: 'module', name: 'number-guess', module: 'builtin:number-guess', options: { count: 5 } } };

describe('agent task schema', () => {
  it('parses an agent task with defaults and leaves prompt tasks unchanged', () => {
    const agent = TaskConfigSchema.parse(AGENT);
    assert.equal(agent.kind, 'agent');
    if (agent.kind !== 'agent') return;
    assert.equal(agent.maxTurns, 20);
    assert.equal(agent.scorer, undefined);
    assert.deepEqual(agent.prompt, []);
    const prompt = TaskConfigSchema.parse({ id: 'p', dataset: { samples: [{ q: 'a', target: 'b' }] }, prompt: 'hi' });
    assert.equal(prompt.kind, undefined);
    assert.equal(prompt.scorer?.kind, 'exact');
  });

  it('rejects an agent task without an environment and unknown environment kinds, naming the path', () => {
    const missing = TaskConfigSchema.safeParse({ id: 'g', kind: 'agent' });
    assert.ok(!missing.success && missing.error.issues.some((i) => i.path.join('.') === 'environment'));
    const bad = TaskConfigSchema.safeParse({ ...AGENT, environment: { kind: 'docker', name: 'x' } });
    assert.ok(!bad.success && bad.error.issues.some((i) => i.path[0] === 'environment'));
    assert.equal(TaskConfigSchema.safeParse({ ...AGENT, kind: 'robot' }).success, false);
  });
});

describe('environment helpers', () => {
  it('scores an episode from its environment result', () => {
    assert.deepEqual(scoreFromResult('completed', { success: true }), { value: 1, passed: true });
    assert.deepEqual(scoreFromResult('completed', { success: false }), { value: 0, passed: false });
    assert.deepEqual(scoreFromResult('completed', { score: 0.5 }), { value: 0.5, passed: true });
    assert.deepEqual(scoreFromResult('completed', 0.25), { value: 0.25, passed: true });
    assert.deepEqual(scoreFromResult('task limit reached', { success: true }), { value: 0, passed: false });
    // No verdict in the result: not scored 1 by default, and the score says why.
    assert.deepEqual(scoreFromResult('completed', null), { value: 0, passed: false, explanation: NO_VERDICT });
    assert.deepEqual(scoreFromResult('completed', { rounds: 3 }), { value: 0, passed: false, explanation: NO_VERDICT });
    assert.deepEqual(scoreFromResult('completed', { result: true }), { value: 1, passed: true });
  });

  it('maps transcripts to AgentBench outputs and back', () => {
    const t = [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a1' }, { role: 'user' as const, content: 'more' }, { role: 'assistant' as const, content: 'a2' }];
    assert.deepEqual(episodeOutput(3, 'completed', undefined, t).history.map((m) => m.role), ['user', 'agent', 'user', 'agent']);
    assert.equal(episodeOutput(3, 'completed', undefined, t).result, null);
    assert.equal(lastAgentMessage(t), 'a2');
    assert.equal(chatRole('agent'), 'assistant');
    assert.equal(chatRole('user'), 'user');
  });

  it('names queues per environment and per worker, stably', () => {
    assert.equal(environmentQueue('dbbench'), 'evalctl-task.dbbench');
    assert.equal(sessionQueue('dbbench', 'w1'), sessionQueue('dbbench', 'w1'));
    assert.notEqual(sessionQueue('dbbench', 'w1'), sessionQueue('dbbench', 'w2'));
    assert.match(sessionQueue('dbbench', 'w1'), /^evalctl-task\.dbbench\.[0-9a-f]{8}$/);
  });

  it('reads agent samples from the environment indices, keyed by environment and index', async () => {
    const task = TaskConfigSchema.parse({ ...AGENT, limit: 3 });
    const ds = await openTaskSamples(task);
    assert.equal(ds.count, 3);
    const page = await ds.readPage(1, 5);
    assert.deepEqual(page.map((s) => s.id), ['1', '2']);
    assert.equal((page[0].fields.environment as { module: string }).module, 'builtin:number-guess');
    assert.deepEqual(agentPlanOf(task).agent, { environment: 'number-guess', maxTurns: 20, timeLimitMs: 600_000, maxRestarts: 3 });
  });
});

describe('built-in number-guess environment', () => {
  it('is won by binary search within 7 guesses, and says higher or lower otherwise', () => {
    for (let index = 0; index < 20; index++) {
      let turn = guess.start(index, { seed: 4 });
      const session = turn.session;
      let steps = 0;
      while (turn.status === 'running') {
        turn = { ...guess.step(session, String(turn.expected), { seed: 4 }), session };
        steps += 1;
      }
      assert.equal(turn.status, 'completed', `sample ${index}`);
      assert.ok(steps <= 7);
      assert.equal((turn.result as { secret: number }).secret, guess.secretOf(index, 4, 100));
    }
    const s = guess.start(0, { seed: 4 });
    const secret = guess.secretOf(0, 4, 100);
    const wrong = secret === 100 ? 99 : secret + 1;
    assert.match(guess.step(s.session, `my guess: ${wrong}`, { seed: 4 }).messages?.[0].content ?? '', /^Lower/);
  });

  it('computes its overall metric', () => {
    const out = (success: boolean, guesses: number) => ({ index: 0, status: 'completed', result: { success, guesses }, history: [] });
    assert.deepEqual(guess.calculateOverall([out(true, 3), out(false, 7), out(true, 5), out(false, 7)]), { total: 4, success_rate: 0.5, mean_guesses: 4 });
  });
});

describe('task workers in fleets and `sessions`', () => {
  it('turns --start task:<environment> N into task workers; an unknown type is an error, not a task worker', () => {
    assert.throws(() => fleetFromPairs(['gpu', '1']), /"gpu" is not a worker type \(orchestrator, inference, scoring, all\); task workers of an agent environment are task:<environment>/);
    assert.throws(() => fleetFromPairs(['number-guess', '2']), /not a worker type/);
    const members = fleetMembers(fleetFromPairs(['inference', '1', 'task:number-guess', '2']));
    assert.deepEqual(members.map((m) => m.name), ['inference-1', 'task-number-guess-1', 'task-number-guess-2']);
    assert.deepEqual(members[1].args.slice(0, 3), ['worker', 'task', 'number-guess']);
  });

  it('lists sessions oldest first with their age', () => {
    const doc = (id: string, startedAt: number) => ({
      _id: id, assignmentId: 'a', taskId: 't', modelId: 'm', sampleIndex: 1, environment: 'e', sessionId: id, worker: 'w', queue: 'q', turn: 2,
      startedAt: new Date(startedAt), updatedAt: new Date(startedAt),
    });
    const rows = sessionRows([doc('new', 9_000), doc('old', 1_000)], 10_000);
    assert.deepEqual(rows.map((r) => [r.session, r.ageSeconds]), [['old', 9], ['new', 1]]);
  });
});
