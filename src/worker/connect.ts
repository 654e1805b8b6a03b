/** Default time a worker keeps trying to reach Temporal at start before it exits (a supervisor restarts it). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

/** Raised when Temporal could not be reached within the connect timeout; the message says where and for how long. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** The first line of a transport error, without the SDK's nested detail. */
function briefly(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 300);
}

/**
 * Connects to Temporal, retrying with backoff (0.5 s doubling to 5 s) for up to `timeoutMs`: a worker started
 * beside a server that is still starting waits for it, one pointed at a wrong address says so and gives up.
 * Each failure is reported once per distinct message.
 */
export async function connectTemporal<C>(
  connect: () => Promise<C>,
  opts: { address: string; timeoutMs?: number; log?: (line: string) => void },
): Promise<C> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const deadline = Date.now() + timeoutMs;
  let delay = 500;
  let last = '';
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      const reason = briefly(err);
      if (Date.now() + delay > deadline) {
        throw new TemporalUnreachableError(`cannot reach Temporal at ${opts.address} after ${Math.round(timeoutMs / 1000)} s (${reason}); check --address / TEMPORAL_ADDRESS, or raise --connect-timeout`);
      }
      if (reason !== last) log(`worker: cannot reach Temporal at ${opts.address} yet (${reason}); retrying for up to ${Math.round(timeoutMs / 1000)} s`);
      last = reason;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(5_000, delay * 2);
    }
  }
}
