/**
 * Writes configs/assignment.schema.json from the zod schemas. `--check` exits 1 when the file is stale.
 * Run: node dist/scripts/gen-schema.js [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderAssignmentJsonSchema } from '../src/config/json-schema';

/** Where the generated schema lives, from the repository root. */
export const SCHEMA_PATH = path.join('configs', 'assignment.schema.json');

function main(): void {
  const root = path.resolve(__dirname, '..', '..');
  const file = path.join(root, SCHEMA_PATH);
  const text = renderAssignmentJsonSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(file, 'utf8');
    if (current !== text) {
      process.stderr.write(`${SCHEMA_PATH} is stale: run node dist/scripts/gen-schema.js\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(file, text);
  process.stderr.write(`wrote ${SCHEMA_PATH}\n`);
}

if (require.main === module) main();
