import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModelConfigSchema, SimulatedProviderSchema, TaskConfigSchema } from '../../../src/config/schema';
import type { TaskConfig } from '../../../src/config/schema';
import { epochPosition } from '../../../src/datasets';
import { openTaskSamples } from '../../../src/environments';
import { keyedSamples } from '../../../src/plan/samples';
import { SimulatedProvider } from '../../../src/providers';

const rows = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, q: `${i} + 1?`, target: String(i + 1) }));
const task = (over: Record<string, unknown> = {}): TaskConfig =>
  TaskConfigSchema.parse({ id: 't', dataset: { samples: rows, shuffle: true, seed: 3 }, prompt: 'Q: {{q}}', ...over });
const model = ModelConfigSchema.parse({ id: 'sim', provider: { kind: 'simulated', accuracy: 0.5, seed: 11 } });
const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('epochs as a view of the dataset', () => {
  it('repeats the dataset as used (shuffled) once per epoch, positions epoch after epoch', async () => {
    const plain = await openTaskSamples(task());
    const three = await openTaskSamples(task({ epochs: 3 }));
    assert.equal(plain.count, 5);
    assert.equal(three.count, 15);
    const once = await plain.readPage(0, 5);
    const page = await three.readPage(3, 9);
    assert.deepEqual(page.map((s) => s.index), all(9).map((i) => i + 3));
    for (const s of page) {
      const { row, epoch } = epochPosition(s.index, 5);
      assert.equal(s.epoch, epoch);
      assert.equal(s.id, once[row].id);
      assert.deepEqual(s.fields, once[row].fields);
    }
    assert.equal(plain.viewHash, three.viewHash, 'the same samples');
  });

  it('epoch 1 keeps the keys of a run without epochs; every other epoch has keys of its own', async () => {
    const plain = await keyedSamples(model, task(), all(5));
    const two = await keyedSamples(model, task({ epochs: 2 }), all(10));
    for (const i of all(5)) {
      assert.equal(two.get(i)?.sampleKey, plain.get(i)?.sampleKey, `epoch 1 of row ${i}`);
      assert.equal(two.get(i)?.inferenceKey, plain.get(i)?.inferenceKey);
    }
    assert.equal(new Set([...two.values()].map((k) => k.sampleKey)).size, 10);
  });

  it('the simulated model draws its answer per epoch', async () => {
    const many = TaskConfigSchema.parse({
      id: 't', epochs: 2, prompt: '{{q}}', dataset: { samples: Array.from({ length: 40 }, (_, i) => ({ q: `q${i}`, target: 'yes' })) },
    });
    const keyed = await keyedSamples(model, many, all(80));
    const sim = new SimulatedProvider('sim', SimulatedProviderSchema.parse({ kind: 'simulated', accuracy: 0.5, seed: 11 }));
    const answer = async (i: number): Promise<string> => {
      const k = keyed.get(i)!;
      const p = await sim.infer({ sampleKey: k.sampleKey, messages: [], prompt: String(k.sample.fields.q), params: {}, target: k.sample.target }, { signal: new AbortController().signal, env: {} });
      return p.text;
    };
    let differ = 0;
    for (const i of all(40)) if ((await answer(i)) !== (await answer(i + 40))) differ++;
    // With accuracy 0.5, the two epochs of a sample disagree about half the time; identical draws would give 0.
    assert.ok(differ >= 8 && differ <= 32, `${differ} of 40 samples answered differently in their two epochs`);
  });
});
