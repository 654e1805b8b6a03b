/**
 * How an AgentBench v0.2 controller answers, read from its code (THUDM/AgentBench, branch v0.2:
 * src/server/task_controller.py, task_worker.py, task.py): FastAPI's `{"detail": ...}` bodies, the worker's
 * own answers wrapped by the controller as "Error: Worker returned error\n<worker body>", and what each
 * status and message means for an episode.
 */

/** What an AgentBench answer means for the episode that got it. */
export type AgentBenchFault =
  /** 406 "Task does not exist" (400 from get_indices and calculate_overall): fix the config. */
  | 'unknown-task'
  /** 406 with any other body ("No workers available", "Sample concurrency limit reached"): ask again later. */
  | 'no-capacity'
  /** The session is gone or cannot go on (lost session, dead worker, id collision): start the episode again. */
  | 'restart'
  /**
   * The controller does not know the session (400 "Session does not exist" to an interact): it restarted or
   * dropped it, and its worker may still hold the session. Start again, and cancel the worker's copy.
   */
  | 'controller-lost'
  /** 501 from interact: the task crashed; the body holds its output (history, traceback as result). */
  | 'task-error'
  /** 500 (a session lock timed out while another call holds it) or 400 "Task Executing": try the same call again. */
  | 'busy'
  /** The session is not there (cancel of a session already ended). */
  | 'gone'
  /** Anything else: a request that can never work. */
  | 'permanent';

/** One classified answer: the fault and the controller's own words. */
export interface AgentBenchAnswer {
  fault: AgentBenchFault;
  detail: string;
  /** The worker's TaskOutput carried by a 501. */
  output?: unknown;
}

/** The calls evalctl makes, as the controller routes them. */
export type AgentBenchCall = 'get_indices' | 'start_sample' | 'interact' | 'cancel' | 'calculate_overall' | 'list_sessions';

const WRAPPED = 'Error: Worker returned error\n';

/**
 * The controller's message of a failed answer: FastAPI's `detail`, unwrapped once more when the controller
 * passes on a worker's own answer; a 501's worker detail is an object with the task's `output`.
 */
export function detailOf(body: string): { text: string; output?: unknown } {
  let detail: unknown = parseJson(body)?.detail ?? body;
  if (typeof detail === 'string' && detail.startsWith(WRAPPED)) {
    const inner = detail.slice(WRAPPED.length);
    detail = parseJson(inner)?.detail ?? inner;
  }
  if (detail !== null && typeof detail === 'object') {
    const output = (detail as { output?: unknown }).output;
    return { text: JSON.stringify(detail), output };
  }
  return { text: String(detail) };
}

/** Classifies a non-200 answer of one call by its status and body. */
export function classifyAnswer(call: AgentBenchCall, status: number, body: string): AgentBenchAnswer {
  const { text, output } = detailOf(body);
  const has = (words: string) => text.toLowerCase().includes(words.toLowerCase());
  const answer = (fault: AgentBenchFault): AgentBenchAnswer => ({ fault, detail: text, ...(output === undefined ? {} : { output }) });
  if (has('Task does not exist')) return answer('unknown-task');
  if (status === 406) return answer('no-capacity');
  if (status === 501) return answer('task-error');
  if (status === 500) return answer(call === 'cancel' || call === 'interact' ? 'busy' : 'permanent');
  if (status === 400 && has('Task Executing')) return answer('busy');
  const lost = has('Session does not exist') || has('No such session');
  if (call === 'cancel' && lost) return answer('gone');
  // A cancel through a worker that does not answer may pass once the worker is back (or synced away).
  if (call === 'cancel' && has('Worker not responding')) return answer('busy');
  if (has('Session does not exist')) return answer('controller-lost');
  if (lost || has('Worker not responding') || has('Session ID already exists') || has('Worker status abnormal')) return answer('restart');
  return answer('permanent');
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
