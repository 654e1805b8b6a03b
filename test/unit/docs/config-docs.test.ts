import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CONFIG_DOCS_PATH, renderConfigDocs } from '../../../scripts/gen-config-docs';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');

describe('docs/configuration.md', () => {
  it('matches the zod schemas (run npm run docs when this fails)', () => {
    const committed = readFileSync(path.join(REPO, CONFIG_DOCS_PATH), 'utf8');
    assert.equal(committed, renderConfigDocs());
  });

  it('documents every provider and scorer kind with its defaults', () => {
    const text = renderConfigDocs();
    for (const kind of ['openai', 'command', 'simulated']) assert.ok(text.includes(`### \`provider (kind: ${kind})\``), kind);
    for (const kind of ['exact', 'includes', 'regex', 'numeric', 'choice', 'f1', 'judge', 'command']) assert.ok(text.includes(`### \`scorer (kind: ${kind})\``), kind);
    assert.match(text, /\| `global` \| integer > 0 \|  \| `64` \|/);
    assert.match(text, /\| `workers` \| list of object \(at least 1\) \| yes \|/);
    assert.match(text, /\| `EVALCTL_MONGO_URL` \| `--mongo-url` \| `mongodb:\/\/127\.0\.0\.1:27017\/evalctl` \|/);
  });
});
