import { hostname } from 'node:os';

/**
 * Worker identities: the string a worker gives Temporal, which Temporal shows for every poller of a queue
 * (`workers list`, the Web UI) and activities record on results. It carries what `workers list` shows, so
 * no registry is needed: `inference@gpu-host-3:4121;slots=4;gpu=a100;name=inference-gpu-1`.
 */

/** What a worker says about itself. */
export interface WorkerIdentity {
  type: string;
  host: string;
  pid: number;
  /** Concurrent activities this worker accepts (its device slots, or `--slots`). */
  slots: number;
  /** GPU tag of the queue it polls, when it is a GPU worker. */
  gpuType?: string;
  /** Name given by the fleet supervisor (`inference-2`). */
  name?: string;
}

/** Characters that would break the format: the separators and whitespace. */
const UNSAFE = /[@:;=\s]/g;

function clean(value: string): string {
  return value.replace(UNSAFE, '-');
}

/** Formats an identity; unsafe characters in host, tag and name become `-` so it always parses back. */
export function formatIdentity(id: WorkerIdentity): string {
  let out = `${clean(id.type)}@${clean(id.host)}:${id.pid};slots=${id.slots}`;
  if (id.gpuType) out += `;gpu=${clean(id.gpuType)}`;
  if (id.name) out += `;name=${clean(id.name)}`;
  return out;
}

/** Parses an identity written by formatIdentity; undefined for any other string (workers of other programs). */
export function parseIdentity(text: string): WorkerIdentity | undefined {
  const m = /^([^@:;=\s]+)@([^@:;=\s]+):(\d+)((?:;[a-z]+=[^;=\s]*)*)$/.exec(text);
  if (!m) return undefined;
  const fields = new Map(m[4].split(';').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  const slots = Number(fields.get('slots'));
  if (!Number.isInteger(slots)) return undefined;
  const id: WorkerIdentity = { type: m[1], host: m[2], pid: Number(m[3]), slots };
  if (fields.get('gpu')) id.gpuType = fields.get('gpu');
  if (fields.get('name')) id.name = fields.get('name');
  return id;
}

/** The identity of this process as a worker of a type. */
export function localIdentity(fields: Omit<WorkerIdentity, 'host' | 'pid'>): WorkerIdentity {
  return { ...fields, host: hostname(), pid: process.pid };
}
