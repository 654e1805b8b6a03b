import type { DigestRow } from './digest';

/**
 * A job's searchable texts (searchTextOf) held as they are stored: lines `<key>\t<text>` in a few large
 * strings, the key a sample index (the stored text digest) or a sample key (texts read from the results).
 * A search is one native `indexOf` pass over them, a few milliseconds for 100,000 samples, and reading
 * them builds no object per sample.
 */
export class JobTexts {
  private last?: { needle: string; keys: Set<string> };

  constructor(
    /** What the key of each line is. */
    readonly keyedBy: 'index' | 'sampleKey',
    private readonly parts: readonly string[],
  ) {}

  /** Texts of sample keys, as the results scan reads them. */
  static ofSampleKeys(texts: Iterable<[string, string]>): JobTexts {
    const lines: string[] = [];
    for (const [key, text] of texts) lines.push(`${key}\t${text.replace(/[\r\n]/g, ' ')}`);
    return new JobTexts('sampleKey', lines.length > 0 ? [lines.join('\n')] : []);
  }

  /** Whether a row's text contains `needle` (squashText'ed); the keys of a needle are found once and kept. */
  matcher(needle: string): (row: Pick<DigestRow, 'index' | 'sampleKey'>) => boolean {
    if (needle === '') return () => true;
    if (this.last?.needle !== needle) this.last = { needle, keys: this.keysMatching(needle) };
    const { keys } = this.last;
    return this.keyedBy === 'index' ? (r) => keys.has(String(r.index)) : (r) => keys.has(r.sampleKey);
  }

  /** The keys of the lines whose text (after the key) contains `needle` (not empty). */
  keysMatching(needle: string): Set<string> {
    const keys = new Set<string>();
    for (const part of this.parts) {
      let from = 0;
      for (;;) {
        const hit = part.indexOf(needle, from);
        if (hit < 0) break;
        const start = part.lastIndexOf('\n', hit - 1) + 1;
        const tab = part.indexOf('\t', start);
        // A needle has no tab or newline, so a hit before the line's tab lies inside its key: look on in its text.
        if (tab < 0) break;
        if (hit < tab) {
          from = tab + 1;
          continue;
        }
        keys.add(part.slice(start, tab));
        const end = part.indexOf('\n', hit);
        if (end < 0) break;
        from = end + 1;
      }
    }
    return keys;
  }
}
