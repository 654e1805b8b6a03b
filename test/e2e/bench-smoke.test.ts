import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli';
import type { BenchReport } from '../../scripts/bench/report';

/** Runs the compiled bench script to its end (it starts and stops its own stack and worker). */
function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = join(repoRoot(), 'dist', 'scripts', 'bench.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { timeout: 600_000 }, (err, stdout, stderr) => {
      if (err?.killed) return reject(new Error(`the bench timed out\n${stderr}`));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('the bench runs both fan-outs against the ideal and reports sane figures (no timing thresholds)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'evalctl-bench-smoke-'));
  try {
    const res = await runBench(['--samples', '60', '--latency', '50', '--concurrency', '16', '--fanout', 'both', '--out', out]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /\| fan-out \| samples\/s \| efficiency/);
    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    assert.deepEqual(report.workload, { samples: 60, latencyMs: 50, concurrency: 16, zeroLatency: false, provider: 'http', server: 'dev' });
    assert.ok(report.runs.every((r) => r.inFlightPeak >= 1 && r.inFlightPeak <= 16), 'in-flight peak within the window');
    assert.ok(report.runs.every((r) => r.processes.endpoint.cpuSeconds >= 0 && r.cpuMsPerSampleByProcess.worker > 0), 'endpoint and per-process CPU measured');
    assert.ok(report.machine.cores >= 1 && Number.isFinite(report.machine.loadBefore));
    assert.ok(report.ideal.throughput > 0);
    assert.deepEqual(report.runs.map((r) => r.fanout), ['per-sample', 'batch']);
    for (const run of report.runs) {
      assert.equal(run.status, 'completed', run.fanout);
      assert.ok(run.throughput > 0, `${run.fanout}: throughput ${run.throughput}`);
      assert.ok(run.efficiency > 0 && run.efficiency <= 1.5, `${run.fanout}: efficiency ${run.efficiency}`);
      assert.ok(run.eventsPerSample > 0, `${run.fanout}: events per sample ${run.eventsPerSample}`);
      assert.equal(run.measured, 60, `${run.fanout}: every sample's overhead was measured`);
      assert.ok(run.overheadP99Ms >= run.overheadP50Ms);
      assert.ok(run.processes.worker.peakRssMiB > 0 && run.processes.worker.cpuSeconds > 0, `${run.fanout}: worker measured`);
      assert.ok(run.processes.temporal.peakRssMiB > 0, `${run.fanout}: temporal measured`);
    }
    // A shard replaces ~20 events per sample (a workflow per sample) with a few: batch must record fewer.
    assert.ok(report.runs[1].eventsPerSample < report.runs[0].eventsPerSample, 'batch fan-out records fewer events per sample');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
