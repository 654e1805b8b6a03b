import { main } from '../../src/cli/main';

/** What one in-process CLI run printed, how it exited, and how long it took. */
export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the CLI's main(argv) in this process with stdout and stderr captured, for corpora too large to
 * spawn a process per case. Rejects when the command takes longer than timeoutMs (a hang is a failure).
 */
export async function runInProcess(args: string[], timeoutMs = 15_000): Promise<InProcessResult> {
  const out: string[] = [];
  const err: string[] = [];
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  // The CLI writes strings; the test runner (node --test) writes its serialized events as Buffers to the
  // same stdout at any moment, and those must still reach it.
  const capture = (sink: string[], real: typeof process.stdout.write) => ((chunk: string | Uint8Array, ...rest: never[]): boolean => {
    if (typeof chunk !== 'string') return real(chunk, ...rest);
    sink.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture(out, realOut);
  process.stderr.write = capture(err, realErr);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`evalctl ${args.join(' ').slice(0, 200)} did not end within ${timeoutMs} ms`)), timeoutMs);
    });
    const code = await Promise.race([main(['node', 'evalctl', ...args]), timeout]);
    return { code, stdout: out.join(''), stderr: err.join(''), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    // main reads process.exitCode; a command that set it must not leak into the next run (or the runner's).
    process.exitCode = undefined;
  }
}
