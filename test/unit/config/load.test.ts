import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildAssignmentFromNames, ConfigError, loadAssignmentFile } from '../../../src/config/load';
import { BAD_CONFIGS } from './bad-configs';
import type { PromptTaskConfig } from '../../../src/config/schema';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
let dir = '';
const originalCwd = process.cwd();

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'evalctl-config-'));
  mkdirSync(path.join(dir, 'models'));
  mkdirSync(path.join(dir, 'tasks'));
  writeFileSync(path.join(dir, 'data.jsonl'), '{"q": "1+1", "target": "2"}\n');
  // Error messages name files relative to the working directory.
  process.chdir(dir);
});

after(() => {
  process.chdir(originalCwd);
  rmSync(dir, { recursive: true, force: true });
});

async function errorOf(yaml: string, files: Record<string, string> = {}): Promise<ConfigError> {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  writeFileSync(path.join(dir, 'a.yaml'), yaml);
  try {
    await loadAssignmentFile('a.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('bad configs give exact messages with locations', () => {
  assert.ok(BAD_CONFIGS.length >= 25);
  for (const c of BAD_CONFIGS) {
    it(c.name, async () => {
      const err = await errorOf(c.yaml, c.files);
      if (process.env.PRINT_CONFIG_ERRORS) process.stdout.write(`${c.name}\n${err.message}\n\n`);
      assert.equal(err.message, c.expected);
      assert.ok(err.issues.length >= 1);
      for (const issue of err.issues) assert.ok(issue.file.length > 0);
    });
  }
});

describe('valid configs', () => {
  it('loads the demo: references expanded, defaults applied, dataset paths absolute', async () => {
    const { config, sourcePath } = await loadAssignmentFile(path.join(REPO, 'configs', 'demo.yaml'));
    assert.equal(sourcePath, path.join(REPO, 'configs', 'demo.yaml'));
    assert.deepEqual(config.models.map((m) => m.id), ['sim-good', 'sim-flaky']);
    assert.deepEqual(config.tasks.map((t) => t.id), ['arithmetic', 'capitals', 'multiple-choice', 'sentiment']);
    assert.equal((config.tasks[0] as PromptTaskConfig).dataset.path, path.join(REPO, 'configs', 'datasets', 'arithmetic.jsonl'));
    assert.equal((config.tasks[3] as PromptTaskConfig).dataset.format, 'csv');
    assert.equal(config.models[0].timeoutMs, 120_000);
    assert.equal(config.retry.maxAttempts, 5);
    assert.equal(config.failOnError, 0.05);
  });

  it('loads every example assignment in configs/', async () => {
    const examples = readdirSync(path.join(REPO, 'configs')).filter((f) => f.endsWith('.yaml') && f !== 'workers.yaml');
    assert.ok(examples.includes('epochs.yaml'));
    for (const file of examples) await loadAssignmentFile(path.join(REPO, 'configs', file));
  });

  it("gives every prompt task the assignment's epochs unless it sets its own", async () => {
    const { config } = await loadAssignmentFile(path.join(REPO, 'configs', 'epochs.yaml'));
    const [pass2, majority] = config.tasks as PromptTaskConfig[];
    assert.deepEqual([pass2.epochs, pass2.reducer, majority.epochs, majority.reducer], [3, 'pass@2', 5, 'majority']);
  });

  it('keeps ${NAME} references as strings', async () => {
    const { config } = await buildAssignmentFromNames({ models: ['gpt-4o-mini'], tasks: ['capitals'], configDir: path.join(REPO, 'configs') });
    const provider = config.models[0].provider;
    assert.equal(provider.kind === 'openai' && provider.apiKey, '${OPENAI_API_KEY}');
    assert.equal(config.name, 'adhoc');
  });

  it('builds from names with the same errors, naming the missing one', async () => {
    await assert.rejects(
      buildAssignmentFromNames({ models: ['sim-good', 'nope'], tasks: ['capitals'], configDir: path.join(REPO, 'configs') }),
      (err: unknown) => err instanceof ConfigError && err.message === `<command line> models[1]: no model named "nope" (looked for ${path.join(REPO, 'configs', 'models', 'nope.yaml')})`,
    );
  });

  it('resolves dataset paths against the file that names them, and inline samples need no file', async () => {
    writeFileSync(path.join(dir, 'tasks', 'inline.yaml'), 'dataset: {samples: [{q: a, target: b}]}\nprompt: "{{q}}"\n');
    writeFileSync(path.join(dir, 'a.yaml'), 'name: x\nmodels:\n  - {id: m, provider: {kind: simulated}}\ntasks:\n  - inline\n  - {id: f, dataset: {path: ./data.jsonl}, prompt: hi}\n');
    const { config } = await loadAssignmentFile('a.yaml');
    assert.equal(config.tasks[0].id, 'inline');
    assert.deepEqual((config.tasks[0] as PromptTaskConfig).dataset.samples, [{ q: 'a', target: 'b' }]);
    assert.equal((config.tasks[1] as PromptTaskConfig).dataset.path, path.join(dir, 'data.jsonl'));
  });

  it('refuses files over the size limit without parsing them', async () => {
    writeFileSync(path.join(dir, 'big.yaml'), `name: x\n#${'x'.repeat(3 * 1024 * 1024)}\n`);
    await assert.rejects(loadAssignmentFile('big.yaml'), /big\.yaml file is \d+ bytes; configs are limited to 2097152/);
  });
});
