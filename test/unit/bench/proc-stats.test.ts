import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpuSecondsOf, treeCpuSecondsOf } from '../../../scripts/bench/proc-stats';
import { parseBenchArgs } from '../../../scripts/bench';
import { waitFor } from '../../helpers/wait';

test('a process tree counts the CPU of what the root forked (PostgreSQL backends), the root alone does not', async (t) => {
  // A shell that forks a busy child and waits for it, as a postmaster forks a backend per connection.
  const root = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "for(;;){}"; true`], { stdio: 'ignore', detached: true });
  t.after(() => process.kill(-(root.pid as number), 'SIGKILL')); // the shell and its child: one process group
  const pid = root.pid as number;
  const tree = await waitFor(() => {
    const cpu = treeCpuSecondsOf(pid) ?? 0;
    return cpu >= 0.3 ? cpu : undefined;
  }, { timeoutMs: 30_000, message: 'the busy child to spend 0.3 s of CPU' });
  assert.ok((cpuSecondsOf(pid) ?? 0) < tree / 2, 'the shell itself only waits');
});

test('bench flags: --server takes dev or cluster', () => {
  assert.equal(parseBenchArgs([]).server, 'dev');
  assert.equal(parseBenchArgs(['--server', 'cluster']).server, 'cluster');
  assert.throws(() => parseBenchArgs(['--server', 'k8s']), /--server takes dev or cluster/);
});
