/** Workflow ids that mean something, so people can find them in the Web UI. */

/** Workflow id of an assignment. */
export function assignmentWorkflowId(assignmentId: string): string {
  return `evalctl/${assignmentId}`;
}

/** Workflow id of the job running one model on one task within an assignment. */
export function jobWorkflowId(assignmentId: string, modelId: string, taskId: string): string {
  return `evalctl/${assignmentId}/job/${modelId}/${taskId}`;
}

/** Job id inside an assignment: the model and the task it pairs. */
export function jobIdOf(modelId: string, taskId: string): string {
  return `${modelId}/${taskId}`;
}

/**
 * Workflow id of one execution of a sample key. It names the key, not the assignment, so a second
 * assignment asking for the same request finds the running execution and adopts it.
 */
export function sampleWorkflowId(sampleKey: string): string {
  return `evalctl/sample/${sampleKey}`;
}
