import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAnswer, detailOf } from '../../../src/environments';
import { parseHandle, sessionHandle } from '../../../src/environments/agentbench';
import { modelTurnOf, replayModelTurns, type EpisodeMessage } from '../../../src/contracts';

/** FastAPI's body of an HTTPException, and the controller's wrapping of a worker's answer (task_controller.py _call_worker). */
const fastapi = (detail: unknown) => JSON.stringify({ detail });
const wrapped = (detail: unknown) => fastapi(`Error: Worker returned error\n${JSON.stringify({ detail })}`);

describe('AgentBench answers, classified by status and body', () => {
  it('tells an unknown task from no capacity, both 406', () => {
    assert.equal(classifyAnswer('start_sample', 406, fastapi('Error: Task does not exist')).fault, 'unknown-task');
    assert.equal(classifyAnswer('start_sample', 406, fastapi('Error: No workers available')).fault, 'no-capacity');
    assert.equal(classifyAnswer('start_sample', 406, wrapped('Sample concurrency limit reached: 2')).fault, 'no-capacity');
    assert.equal(classifyAnswer('get_indices', 400, fastapi('Error: Task does not exist')).fault, 'unknown-task');
  });

  it('restarts the episode for lost sessions, dead workers and id collisions (400s)', () => {
    assert.equal(classifyAnswer('interact', 400, fastapi('Error: Session does not exist')).fault, 'controller-lost');
    assert.equal(classifyAnswer('interact', 400, fastapi('Error: Worker not responding\nCannot connect')).fault, 'restart');
    assert.equal(classifyAnswer('interact', 400, wrapped('No such session')).fault, 'restart');
    assert.equal(classifyAnswer('start_sample', 400, wrapped('Session ID already exists')).fault, 'restart');
  });

  it('retries a cancel refused while an interact holds the lock (500), and treats an unknown session as gone', () => {
    assert.equal(classifyAnswer('cancel', 500, 'Internal Server Error').fault, 'busy');
    assert.equal(classifyAnswer('cancel', 400, fastapi('Error: Session does not exist')).fault, 'gone');
    assert.equal(classifyAnswer('cancel', 400, wrapped('No such session')).fault, 'gone');
    assert.equal(classifyAnswer('cancel', 400, fastapi('Error: Worker not responding\nx')).fault, 'busy');
    assert.equal(classifyAnswer('interact', 400, wrapped('Task Executing, please do not send new request.')).fault, 'busy');
  });

  it('keeps the task output of a crash (501) and calls the rest permanent', () => {
    const output = { index: 2, status: 'task error', result: 'Traceback ...\nValueError: x', history: [{ role: 'user', content: 'hi' }] };
    const crash = classifyAnswer('interact', 501, wrapped({ session_id: 4, output }));
    assert.equal(crash.fault, 'task-error');
    assert.deepEqual(crash.output, output);
    assert.equal(classifyAnswer('start_sample', 400, fastapi('Error: Index out of bounds')).fault, 'permanent');
    assert.equal(detailOf('not json').text, 'not json');
  });

  it('names sessions by id and controller start time', () => {
    assert.equal(sessionHandle(3, 1733051234.125, 'a/b'), '3@1733051234.125/a/b');
    assert.deepEqual(parseHandle('3@1733051234.125/a/b'), { id: 3, start: 1733051234.125, index: 'a/b' });
    assert.deepEqual(parseHandle(sessionHandle(0, undefined, 7)), { id: 0, start: undefined, index: '7' });
  });
});

describe('model turns stored as changes of what the model saw', () => {
  it('replays appended, truncated and rewritten views exactly', () => {
    const m = (role: EpisodeMessage['role'], content: string): EpisodeMessage => ({ role, content });
    const views = [
      [m('user', 'task')],
      [m('user', 'task'), m('assistant', 'a1'), m('user', 'o1')],
      [m('user', 'task\n\n[NOTICE] 2 messages are omitted.'), m('assistant', 'a2'), m('user', 'o2')],
      [m('user', 'summary')],
    ];
    const turns = [];
    let previous: EpisodeMessage[] = [];
    for (const [i, view] of views.entries()) {
      turns.push(modelTurnOf(previous, view, `r${i}`));
      previous = view;
    }
    assert.equal(turns[1].keep, 1, 'an appended view keeps the prefix');
    assert.equal(turns[2].keep, 0, 'a truncated view rewrites the instruction');
    assert.deepEqual(replayModelTurns(turns).map((t) => t.view), views);
  });
});
