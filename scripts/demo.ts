import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssignmentFile } from '../src/config/load';
import { exportDirOf } from '../src/report/export';
import { loadSummary } from '../src/report/source';
import { renderSummary } from '../src/report/render';
import { stackDown, stackUp } from '../src/dev/stack';
import { startAssignment } from '../src/control/start';
import { assignmentStatus } from '../src/control/status';
import { formatStatus } from '../src/cli/status';
import { watchAssignment } from '../src/cli/watch';
import { openStore } from '../src/store/store';
import { connectTemporal, workflowUiUrl } from '../src/temporal/client';
import { startWorker } from '../src/worker/run-worker';
import { modelQueuesOf } from '../src/plan/jobs';

/**
 * `npm run demo`: a private stack, an all-in-one worker in this process, configs/demo.yaml run to the end
 * with live progress, the results table and the Web UI link; then everything it started is stopped
 * (`npm run demo -- --keep` leaves the stack up to explore the Web UI).
 */
async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  const configPath = join(__dirname, '..', '..', 'configs', 'demo.yaml');
  const loaded = await loadAssignmentFile(configPath);
  const dataDir = mkdtempSync(join(tmpdir(), 'evalctl-demo-'));
  process.stderr.write('starting a private Temporal dev server and MongoDB-compatible server (first run builds them: minutes)\n');
  const up = await stackUp({ dataDir, temporalPort: 0, uiPort: 0, mongoPort: 0, dbName: 'evalctl_demo' });
  const connection = { temporalAddress: up.temporalAddress, temporalNamespace: up.namespace, mongoUrl: up.mongoUrl };
  // The in-process worker serves every queue the demo's models use, rate-limited ones with their limit.
  // Ctrl-C stops what the demo started, like a normal ending does (unless --keep).
  const interrupted = new Promise<never>((_, reject) => {
    const stop = (signal: string): void => reject(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  interrupted.catch(() => undefined);
  const worker = await startWorker({ type: 'all', connection, ...modelQueuesOf(loaded.config) });
  const store = await openStore(up.mongoUrl);
  const temporal = await connectTemporal(connection);
  try {
    const started = await startAssignment(store, temporal, { config: loaded.config, sourcePath: loaded.sourcePath });
    const ui = workflowUiUrl(up.uiUrl, up.namespace, started.workflowId);
    process.stderr.write(`assignment ${started.assignmentId} started; follow it in the Web UI: ${ui}\n`);
    await Promise.race([watchAssignment(store, temporal, started.assignmentId), interrupted]).catch((err: unknown) => {
      if (String(err).includes('interrupted by')) throw err;
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    });
    const doc = (await store.assignments.findOne({ _id: started.assignmentId }))!;
    const view = await assignmentStatus(store, temporal, doc);
    const table = renderSummary(await loadSummary(store, doc), 'table');
    process.stdout.write(`\n${formatStatus(view)}\n\n${table}\nWeb UI: ${ui}\n`);
    if (loaded.config.output) process.stdout.write(`Export: ${exportDirOf(doc, loaded.config.output)}\n`);
    return view.status === 'completed' ? 0 : 1;
  } finally {
    await worker.shutdown();
    await Promise.allSettled([store.close(), temporal.close()]);
    if (keep) {
      process.stderr.write(`\nthe stack keeps running: Web UI ${up.uiUrl}, Temporal ${up.temporalAddress}, MongoDB ${up.mongoUrl}\n`);
      process.stderr.write(`stop it with: node bin/evalctl.js dev down --data-dir ${dataDir}\n`);
    } else {
      await stackDown(dataDir);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
