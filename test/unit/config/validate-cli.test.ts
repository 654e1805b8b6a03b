import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { formatSummary, validateAssignment } from '../../../src/cli/validate';
import { UsageError } from '../../../src/cli/errors';
import { AssignmentConfigSchema } from '../../../src/config/schema';
import { AUTO_PER_SAMPLE_MAX_WINDOW, fanoutFor, localCallOf, sampleCallLabel } from '../../../src/plan/jobs';

const CONFIGS = path.resolve(__dirname, '..', '..', '..', '..', 'configs');

describe('evalctl validate', () => {
  it('summarises the demo: models, tasks, samples per task, total requests', async () => {
    const s = await validateAssignment({ config: path.join(CONFIGS, 'demo.yaml') });
    assert.deepEqual(s.models.map((m) => m.id), ['sim-good', 'sim-flaky']);
    assert.deepEqual(s.tasks.map((t) => [t.id, t.samples, t.scorer]), [
      ['arithmetic', 120, 'numeric'],
      ['capitals', 80, 'exact'],
      ['multiple-choice', 60, 'choice'],
      ['sentiment', 80, 'exact'],
    ]);
    assert.equal(s.totalRequests, 680);
    const text = formatSummary(s);
    assert.match(text, /requests: 2 models x 340 samples = 680/);
    assert.ok(text.split('\n').length < 25, 'one screen');
  });

  it('shows the fan-out each model runs with: auto decides by the window, a config setting is kept', async () => {
    const s = await validateAssignment({ config: path.join(CONFIGS, 'demo.yaml') });
    for (const m of s.models) assert.match(m.fanout, /^(per-sample \(auto: window \d+ <= 16; model call (local to each sample workflow|as an activity)\)|batch \(auto: window \d+ > 16\))$/);
    assert.match(formatSummary(s), /fanout (per-sample|batch) \(auto: window/);
    const config = AssignmentConfigSchema.parse({
      name: 'f', models: [{ id: 'wide', provider: { kind: 'simulated' }, concurrency: 64 }, { id: 'narrow', provider: { kind: 'simulated' }, concurrency: 8 }],
      tasks: [{ id: 't', dataset: { samples: [{ question: 'q', target: '1' }] }, prompt: '{{question}}', scorer: { kind: 'exact' } }],
    });
    const [wide, narrow] = config.models;
    assert.equal(config.fanout, 'auto', 'a config that says nothing is auto');
    assert.deepEqual(fanoutFor(config, wide, config.tasks[0]), { fanout: 'batch', reason: `auto: window 64 > ${AUTO_PER_SAMPLE_MAX_WINDOW}` });
    assert.deepEqual(fanoutFor(config, narrow, config.tasks[0]), { fanout: 'per-sample', reason: `auto: window 8 <= ${AUTO_PER_SAMPLE_MAX_WINDOW}` });
    assert.deepEqual(fanoutFor({ ...config, fanout: 'per-sample' }, wide, config.tasks[0]), { fanout: 'per-sample', reason: 'set in the config' });
  });

  it('runs the model call locally in the sample workflow only on the shared queue, with an inline scorer, per sample', () => {
    const config = AssignmentConfigSchema.parse({
      name: 'l', fanout: 'per-sample',
      models: [
        { id: 'plain', provider: { kind: 'simulated' } },
        { id: 'limited', provider: { kind: 'simulated' }, rateLimit: { requestsPerSecond: 5 } },
        { id: 'gpu', provider: { kind: 'simulated' }, resources: { gpus: 1, gpuType: 'a100' } },
      ],
      tasks: [{ id: 't', dataset: { samples: [{ question: 'q', target: '1' }] }, prompt: '{{question}}', scorer: { kind: 'exact' } }],
    });
    const [plain, limited, gpu] = config.models;
    const task = config.tasks[0];
    assert.equal(localCallOf('per-sample', plain, task), true);
    assert.equal(localCallOf('batch', plain, task), false, 'batch fan-out has shard runners instead');
    assert.equal(localCallOf('per-sample', limited, task), false, 'a queue rate limit does not hold for local activities');
    assert.equal(localCallOf('per-sample', gpu, task), false, 'GPU models keep their device leases on their own queue');
    assert.match(sampleCallLabel('per-sample', limited, task), /as an activity/);
  });

  it('--models/--tasks build the same kind of assignment', async () => {
    const s = await validateAssignment({ models: ['sim-good'], tasks: ['capitals', 'sentiment'], configDir: CONFIGS });
    assert.equal(s.totalRequests, 160);
  });

  it('bad input is a UsageError (exit 2) listing the issues', async () => {
    await assert.rejects(validateAssignment({ models: ['ghost'], tasks: ['capitals'], configDir: CONFIGS }), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && /no model named "ghost"/.test(e.message));
    await assert.rejects(validateAssignment({}), UsageError);
  });
});
