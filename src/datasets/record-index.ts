import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { DatasetError } from './types';

/**
 * A byte-offset index of a line-based file, built by streaming it once: 20 bytes per record, so a
 * million-line file costs about 20 MB and any record can be read by position with one pread.
 */
export interface RecordIndex {
  file: string;
  count: number;
  /** sha256 hex of the whole file. */
  sha256: string;
  /** Reads the text of records by position; `lines` gives their 1-based first line numbers. */
  read(positions: readonly number[]): Promise<Array<{ text: string; line: number }>>;
}

class Growable {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  trimmed(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;

function isBlank(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d;
}

/** Scanner state carried across chunks. */
class Scanner {
  readonly starts = new Growable();
  readonly ends = new Growable();
  readonly lines = new Growable();
  pos = 0;
  recStart = 0;
  recLine = 1;
  line = 1;
  hasContent = false;
  inQuotes = false;

  /** A newline at absolute offset `at` (outside quotes) ends the current record. */
  endRecord(at: number): void {
    if (this.hasContent) {
      this.starts.push(this.recStart);
      this.ends.push(at);
      this.lines.push(this.recLine);
    }
    this.recStart = at + 1;
    this.recLine = this.line;
    this.hasContent = false;
  }

  /** JSONL: jump from newline to newline with indexOf; only look at bytes until a line shows content. */
  scanLines(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, i);
      const end = nl === -1 ? chunk.length : nl;
      for (let k = i; !this.hasContent && k < end; k++) if (!isBlank(chunk[k])) this.hasContent = true;
      if (nl === -1) break;
      this.line++;
      this.endRecord(this.pos + nl);
      i = nl + 1;
    }
    this.pos += chunk.length;
  }

  /** CSV: byte by byte, since a newline inside double quotes does not end a record (RFC 4180). */
  scanCsv(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === NEWLINE) {
        this.line++;
        if (!this.inQuotes) this.endRecord(this.pos + i);
      } else {
        if (b === QUOTE) this.inQuotes = !this.inQuotes;
        if (!this.hasContent && !isBlank(b)) this.hasContent = true;
      }
    }
    this.pos += chunk.length;
  }
}

/** Streams a file once and records where each non-blank record starts and ends, and the file's sha256. */
export async function buildRecordIndex(file: string, mode: 'lines' | 'csv'): Promise<RecordIndex> {
  const scanner = new Scanner();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    if (mode === 'csv') scanner.scanCsv(chunk);
    else scanner.scanLines(chunk);
  }
  if (scanner.inQuotes) throw new DatasetError('unterminated quoted field', file, scanner.recLine);
  scanner.endRecord(scanner.pos);
  const { starts, ends, lines } = scanner;
  return makeIndex(file, hash.digest('hex'), starts.trimmed(), ends.trimmed(), lines.trimmed());
}

function makeIndex(file: string, sha256: string, starts: Float64Array, ends: Float64Array, lines: Float64Array): RecordIndex {
  return {
    file,
    count: starts.length,
    sha256,
    async read(positions) {
      const handle = await fs.open(file, 'r');
      try {
        const out: Array<{ text: string; line: number }> = [];
        for (const p of positions) {
          if (!(p >= 0 && p < starts.length)) throw new RangeError(`record ${p} out of range 0..${starts.length - 1}`);
          const len = ends[p] - starts[p];
          const buf = Buffer.allocUnsafe(len);
          const { bytesRead } = await handle.read(buf, 0, len, starts[p]);
          if (bytesRead !== len) throw new DatasetError('file changed while reading (truncated record)', file, lines[p]);
          out.push({ text: buf.toString('utf8').replace(/\r$/, ''), line: lines[p] });
        }
        return out;
      } finally {
        await handle.close();
      }
    },
  };
}
