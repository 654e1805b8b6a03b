import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a file generated from the code, or with `--check` only compares it and exits 1 when it is stale,
 * so CI and tests notice docs that no longer match the code.
 */
export function writeOrCheck(relativePath: string, text: string, argv: readonly string[] = process.argv): void {
  const file = path.join(path.resolve(__dirname, '..', '..'), relativePath);
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (current !== text) {
      process.stderr.write(`${relativePath} is stale: run npm run docs\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(file, text);
  process.stderr.write(`wrote ${relativePath}\n`);
}
