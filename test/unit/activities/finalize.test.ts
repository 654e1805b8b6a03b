import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureVerdict } from '../../../activities/finalize';
import { FailOnErrorSchema } from '../../../src/config/schema';
import { emptyCounts, type Counts } from '../../../src/contracts';

function job(jobId: string, total: number, failed: number): { jobId: string; counts: Counts } {
  return { jobId, counts: { ...emptyCounts(total), failed, succeeded: total - failed } };
}

test('by default a run in which every sample failed fails, naming the job', () => {
  const rule = FailOnErrorSchema.parse(undefined);
  assert.equal(rule, 0.05);
  const verdict = failureVerdict(rule, [job('m/t', 80, 80)]);
  assert.deepEqual(verdict.jobs, ['m/t']);
  assert.match(verdict.error ?? '', /^80 of 80 samples failed \(failOnError: 0\.05\); beyond the limit: m\/t 80\/80$/);
  assert.deepEqual(failureVerdict(rule, [job('m/t', 80, 2)]), { jobs: [] }, '2 of 80 is within 5%');
});

test('a fraction holds for each job: one broken model among healthy ones fails the run', () => {
  const jobs = [...Array.from({ length: 9 }, (_, i) => job(`m${i}/t`, 100, 0)), job('broken/t', 100, 100)];
  const verdict = failureVerdict(0.2, jobs);
  assert.deepEqual(verdict.jobs, ['broken/t'], '10% overall is within 0.2, the job is not');
  assert.ok(verdict.error);
});

test('false never fails, true fails on one failure, a count holds for the whole assignment', () => {
  assert.deepEqual(failureVerdict(false, [job('a/t', 10, 10)]), { jobs: [] });
  assert.ok(failureVerdict(true, [job('a/t', 10, 1)]).error);
  assert.deepEqual(failureVerdict(true, [job('a/t', 10, 0)]), { jobs: [] });
  assert.deepEqual(failureVerdict(3, [job('a/t', 10, 2), job('b/t', 10, 1)]), { jobs: [] });
  const over = failureVerdict(3, [job('a/t', 10, 2), job('b/t', 10, 2)]);
  assert.match(over.error ?? '', /^4 of 20 samples failed \(failOnError: 3\)$/);
});
