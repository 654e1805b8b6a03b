import { z } from 'zod';
import { RawAssignmentConfigSchema } from './schema';

/**
 * The JSON Schema of assignment files, for editors (`# yaml-language-server: $schema=...`). Generated from
 * the zod schemas, so it can never disagree with what the loader accepts; a unit test fails when the
 * committed configs/assignment.schema.json is stale.
 */
export function renderAssignmentJsonSchema(): string {
  const schema = z.toJSONSchema(RawAssignmentConfigSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'evalctl assignment' }, null, 2)}\n`;
}
