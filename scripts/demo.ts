import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssignmentFile } from '../src/config/load';
import { stackDown, stackUp } from '../src/dev/stack';
import { startAssignment } from '../src/control/start';
import { assignmentStatus } from '../src/control/status';
import { formatStatus } from '../src/cli/status';
import { watchAssignment } from '../src/cli/watch';
import { openStore } from '../src/store/store';
import { connectTemporal, workflowUiUrl } from '../src/temporal/client';
import { startWorker } from '../src/worker/run-worker';

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
  const worker = await startWorker({ type: 'all', connection });
  const store = await openStore(up.mongoUrl);
  const temporal = await connectTemporal(connection);
  try {
    const started = await startAssignment(store, temporal, { config: loaded.config, sourcePath: loaded.sourcePath });
    const ui = workflowUiUrl(up.uiUrl, up.namespace, started.workflowId);
    process.stderr.write(`assignment ${started.assignmentId} started; follow it in the Web UI: ${ui}\n`);
    await watchAssignment(store, temporal, started.assignmentId).catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
    const view = await assignmentStatus(store, temporal, (await store.assignments.findOne({ _id: started.assignmentId }))!);
    process.stdout.write(`\n${formatStatus(view)}\n\nWeb UI: ${ui}\n`);
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
