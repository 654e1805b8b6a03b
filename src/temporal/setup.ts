import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../contracts';

/**
 * What a Temporal namespace needs before evalctl can run on it: the namespace itself and evalctl's search
 * attributes. The dev server gets both at start; a production server gets them once from `evalctl setup`,
 * and `start`, `run` and workers check them first, so no assignment is left running with nothing happening.
 */

/** Raised when the namespace lacks something evalctl needs; the message names what and the command that fixes it. */
export class NamespaceNotReadyError extends Error {
  override name = 'NamespaceNotReadyError';
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** The services used here, as both the client's Connection and a worker's NativeConnection have them. */
export interface TemporalServices {
  operatorService: temporal.api.operatorservice.v1.OperatorService;
  workflowService: temporal.api.workflowservice.v1.WorkflowService;
}

/** gRPC NOT_FOUND: the namespace does not exist. */
function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 5;
}

function reason(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  return String(typeof e.details === 'string' && e.details ? e.details : (e.message ?? err));
}

/** evalctl's search attributes the namespace does not have (all of them when it does not exist). */
export async function missingSearchAttributes(connection: Pick<TemporalServices, 'operatorService'>, namespace: string): Promise<string[]> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  const have = Object.keys(res.customAttributes ?? {});
  return Object.keys(SEARCH_ATTRIBUTES).filter((name) => !have.includes(name));
}

/** The error `start`, `run` and workers give when attributes are missing. */
export function notReadyMessage(namespace: string, missing: readonly string[]): string {
  return `namespace "${namespace}" lacks evalctl's search attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; `
    + 'run `evalctl setup` once against this server (it registers them), then start again';
}

/** Fails with a NamespaceNotReadyError when the namespace is missing or lacks an evalctl search attribute. */
export async function requireNamespaceReady(connection: Pick<TemporalServices, 'operatorService'>, namespace: string): Promise<void> {
  let missing: string[];
  try {
    missing = await missingSearchAttributes(connection, namespace);
  } catch (err) {
    if (isNotFound(err)) throw new NamespaceNotReadyError(`namespace "${namespace}" does not exist; run \`evalctl setup\` to create it with evalctl's search attributes`);
    throw err;
  }
  if (missing.length) throw new NamespaceNotReadyError(notReadyMessage(namespace, missing));
}

/** What `evalctl setup` did. */
export interface SetupResult {
  namespace: string;
  createdNamespace: boolean;
  addedAttributes: string[];
}

/**
 * Creates the namespace (with the given retention) when it is missing and registers every evalctl search
 * attribute it lacks. Idempotent: a second run changes nothing. A refusal of the server (too many custom
 * attributes for its visibility store, no permission) is raised with the server's own words.
 */
export async function setupNamespace(connection: TemporalServices, opts: { namespace: string; retentionDays: number; timeoutMs?: number }): Promise<SetupResult> {
  const { namespace } = opts;
  let createdNamespace = false;
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if (!isNotFound(err)) throw new NamespaceNotReadyError(`cannot describe namespace "${namespace}": ${reason(err)}`);
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${opts.retentionDays} days`) })
      .catch((e: unknown) => { throw new NamespaceNotReadyError(`the server refused to create namespace "${namespace}": ${reason(e)}`); });
    createdNamespace = true;
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  // A namespace just created takes a moment to be known to every service of the server.
  let missing: string[] | undefined;
  while (missing === undefined) {
    try {
      missing = await missingSearchAttributes(connection, namespace);
    } catch (err) {
      if (!isNotFound(err) || Date.now() > deadline) throw new NamespaceNotReadyError(`cannot list the search attributes of "${namespace}": ${reason(err)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  if (missing.length) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])) })
      .catch((e: unknown) => { throw new NamespaceNotReadyError(`the server refused to register ${missing.join(', ')} in "${namespace}": ${reason(e)}`); });
  }
  return { namespace, createdNamespace, addedAttributes: missing };
}
