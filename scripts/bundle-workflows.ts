import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from '../src/worker/bundle';

/** Builds the workflow bundle once at build time, so workers start without running webpack. */
async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger() });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  process.stderr.write(`workflow bundle written to ${WORKFLOW_BUNDLE_PATH} (${Math.round(code.length / 1024)} KiB)\n`);
}

function quietLogger() {
  const noop = (): void => undefined;
  const warn = (message: string): void => void process.stderr.write(`bundle: ${message}\n`);
  return { trace: noop, debug: noop, info: noop, warn, error: warn, log: noop };
}

main().catch((err: unknown) => {
  process.stderr.write(`workflow bundle failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
