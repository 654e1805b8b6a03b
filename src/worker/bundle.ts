import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled workflows module (dist/workflows/index.js). */
export const WORKFLOWS_PATH = join(__dirname, '..', '..', 'workflows', 'index.js');

/** The prebuilt workflow bundle written by `npm run build`. */
export const WORKFLOW_BUNDLE_PATH = join(__dirname, '..', '..', 'workflow-bundle.js');

/**
 * How a worker loads workflows: the prebuilt bundle when present (fast start), else a bundle built now
 * from the compiled workflows (slow, but still correct after a partial build).
 */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return existsSync(WORKFLOW_BUNDLE_PATH) ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
}
