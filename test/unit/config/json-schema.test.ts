import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { renderAssignmentJsonSchema } from '../../../src/config/json-schema';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');

describe('configs/assignment.schema.json', () => {
  it('matches the zod schemas (run node dist/scripts/gen-schema.js when this fails)', () => {
    const committed = readFileSync(path.join(REPO, 'configs', 'assignment.schema.json'), 'utf8');
    assert.equal(committed, renderAssignmentJsonSchema());
  });

  it('describes every property, for editors', () => {
    const schema = JSON.parse(renderAssignmentJsonSchema()) as { properties: Record<string, { description?: string }> };
    for (const [key, prop] of Object.entries(schema.properties)) assert.ok(prop.description, `${key} has no description`);
    assert.ok(JSON.stringify(schema).includes('"additionalProperties":false'));
  });
});
