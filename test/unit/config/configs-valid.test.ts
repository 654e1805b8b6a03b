import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadAssignmentFile } from '../../../src/config/load';
import { ModelConfigSchema, TaskConfigSchema } from '../../../src/config/schema';

const CONFIGS = path.resolve(__dirname, '..', '..', '..', '..', 'configs');
const yamlIn = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));

describe('every example in configs/ is valid', () => {
  it('assignments load (references expanded, datasets found)', async () => {
    const files = yamlIn(CONFIGS).filter((f) => path.basename(f) !== 'workers.yaml');
    assert.ok(files.length >= 3);
    for (const file of files) await loadAssignmentFile(file).catch((err: unknown) => assert.fail(`${file}: ${(err as Error).message}`));
  });

  it('model and task files parse with their schemas', () => {
    for (const file of yamlIn(path.join(CONFIGS, 'models'))) {
      const r = ModelConfigSchema.safeParse(parse(readFileSync(file, 'utf8')));
      assert.ok(r.success, `${file}: ${r.error?.message}`);
    }
    for (const file of yamlIn(path.join(CONFIGS, 'tasks'))) {
      const r = TaskConfigSchema.safeParse(parse(readFileSync(file, 'utf8')));
      assert.ok(r.success, `${file}: ${r.error?.message}`);
    }
  });
});
