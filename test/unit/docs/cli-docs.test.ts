import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLI_DOCS_PATH, buildProgram, renderCliDocs } from '../../../scripts/gen-cli-docs';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');

describe('docs/cli.md', () => {
  it('matches the commander tree of src/cli (run npm run docs when this fails)', () => {
    const committed = readFileSync(path.join(REPO, CLI_DOCS_PATH), 'utf8');
    assert.equal(committed, renderCliDocs());
  });

  it('has a section for every command and shows every flag', () => {
    const text = renderCliDocs();
    const walk = (c: ReturnType<typeof buildProgram>): Array<ReturnType<typeof buildProgram>> => [c, ...c.commands.flatMap(walk)];
    for (const cmd of walk(buildProgram()).slice(1)) {
      const names: string[] = [];
      for (let c: typeof cmd | null = cmd; c; c = c.parent) names.unshift(c.name());
      assert.ok(text.includes(`\`${names.join(' ')}\``), `section for ${names.join(' ')}`);
      for (const opt of cmd.options) assert.ok(text.includes(opt.flags), `${names.join(' ')} ${opt.flags}`);
    }
  });
});
