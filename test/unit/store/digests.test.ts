import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDigestRows, encodeDigestRows, packLines, unpackLines } from '../../../src/store/digests';
import type { JobDigestRow } from '../../../src/store/documents';

describe('stored job digests', () => {
  it('rows come back from their lines exactly, nulls and booleans included', () => {
    const rows: JobDigestRow[] = [
      { index: 0, status: 'succeeded', score: 1, passed: true, latencyMs: 12.5, sampleKey: 'a1' },
      { index: 1, status: 'failed', score: null, passed: null, latencyMs: null, sampleKey: 'b2' },
      { index: 2, status: 'reused', score: 0.25, passed: false, latencyMs: 0, sampleKey: 'c3' },
    ];
    assert.deepEqual(decodeDigestRows(encodeDigestRows(rows)), rows);
    assert.deepEqual(decodeDigestRows(encodeDigestRows([])), []);
  });

  it('parts are stored deflated and read back exactly; parts stored as plain strings still read', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `${i}\tquestion ${i}: é ✓ what is ${i} + 1?\t${i + 1}`).join('\n');
    const packed = packLines(lines);
    assert.ok(packed.length() < lines.length / 4, `${packed.length()} bytes for ${lines.length} characters`);
    assert.equal(unpackLines({ packed }), lines);
    assert.equal(unpackLines({ lines: 'a\tb' }), 'a\tb');
    assert.equal(unpackLines({}), '');
  });
});
