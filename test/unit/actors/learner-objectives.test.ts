// The learner gives every objective what it differentiates: GRPO with an entropy bonus, and the entropy control
// that regularise the student's full distribution (SIREN, CEEH with the learner's hard set), train a step on sampled
// trajectories. (The student's full log-probs once reached the objective only when the teacher's full distribution was
// needed, so these configs refused every batch with "needs batch.studentLogprobsFull".)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../src/engine/index.ts';
import { compileRunConfig } from '../../../src/config/index.ts';
import { Learner, learnerOptionsFor, loadPolicy } from '../../../src/actors/index.ts';
import { sampledGroups } from '../../fixtures/sampled-groups.ts';

const base = {
  run_id: 'learner-objectives', mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
  rollout: { group_size: 4, sampling: { temperature: 1.0, max_new_tokens: 12 } },
  learner: { steps: 2, batch_size: 8, lr: 1e-4 },
};

const cases: Array<[string, Record<string, unknown>]> = [
  ['grpo with an entropy bonus', { objective: { name: 'grpo', params: { entropy_coef: 0.01 } } }],
  ['grpo + SIREN entropy control', { objective: { name: 'grpo', params: {} }, entropy_control: { name: 'siren', params: {} } }],
  ['grpo + CEEH entropy control (max-entropy)', { objective: { name: 'grpo', params: {} }, entropy_control: { name: 'ceeh', params: {} } }],
  ['grpo + CEEH entropy control (entropy advantage on hard questions)', { objective: { name: 'grpo', params: {} }, entropy_control: { name: 'ceeh', params: { mode: 'ea' } } }],
];

for (const [name, over] of cases) {
  test(`${name}: the learner trains a step and the weights move`, async () => {
    await initBackend('wasm');
    const run = compileRunConfig({ ...base, ...over });
    const policy = await loadPolicy('models/student');
    try {
      const groups = sampledGroups(policy, run, { limit: 2, taskSeed: 3, groupSize: 4, sampleSeed: 5 });
      const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
      const before = policy.model.toWeights().get('model.norm.weight')!.data.slice();
      const outcome = learner.trainStep(groups.flat());
      assert.equal(outcome.used.length, 8);
      assert.equal(outcome.rejected.length, 0);
      assert.equal(learner.step, 1);
      assert.ok(Number.isFinite(outcome.metrics.loss), `loss ${outcome.metrics.loss}`);
      const after = policy.model.toWeights().get('model.norm.weight')!.data;
      assert.ok(after.some((x, i) => x !== before[i]), 'the step changed the weights');
    } finally {
      policy.model.dispose();
    }
  });
}

test('a token recorded with an absurd log-prob (-100) does not turn the step into NaN; log-probs above 0 and huge rewards are refused by name', async () => {
  await initBackend('wasm');
  const run = compileRunConfig({ ...base, objective: { name: 'dr-grpo', params: {} } });
  const policy = await loadPolicy('models/student');
  try {
    const groups = sampledGroups(policy, run, { limit: 2, taskSeed: 4, groupSize: 4, sampleSeed: 9 });
    // every group disagrees on reward, so advantages are non-zero and the ratio matters
    groups.forEach((g) => g.forEach((t, k) => { t.reward!.total = k % 2; }));
    const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
    groups[0]![1]!.samplingLogprobs[0] = -100;
    const outcome = learner.trainStep(groups.flat());
    assert.equal(outcome.used.length, 8);
    assert.ok(Number.isFinite(outcome.metrics.loss) && Number.isFinite(outcome.metrics.grad_norm ?? 0), JSON.stringify(outcome.metrics));
    assert.ok(policy.model.toWeights().get('model.norm.weight')!.data.every(Number.isFinite));

    groups[0]![2]!.samplingLogprobs[0] = 0.5;
    groups[1]![0]!.reward!.total = 3e38;
    const refused = learner.trainStep(groups.flat());
    const reasons = refused.rejected.map((r) => r.reason);
    assert.equal(reasons.length, 2, reasons.join(' | '));
    assert.ok(reasons.some((r) => /sampling_logprobs: must be <= 0 \(log-probabilities\), got 0\.5/.test(r)), reasons.join(' | '));
    assert.ok(reasons.some((r) => /reward\.total: must be finite and within \+-1000000, got 3e\+38/.test(r)), reasons.join(' | '));
  } finally {
    policy.model.dispose();
  }
});

test('sampled at temperature 0.6 with top-k, an on-policy step has importance ratio 1 (the learner compares raw-model log-probs with raw-model log-probs)', async () => {
  await initBackend('wasm');
  const run = compileRunConfig({ ...base, objective: { name: 'grpo', params: {} }, rollout: { group_size: 4, sampling: { temperature: 0.6, top_k: 5, max_new_tokens: 12 } } });
  const policy = await loadPolicy('models/student');
  try {
    const groups = sampledGroups(policy, run, { limit: 2, taskSeed: 5, groupSize: 4, sampleSeed: 7, sampling: { temperature: 0.6, topK: 5 } });
    groups.forEach((g) => g.forEach((t, k) => { t.reward!.total = k % 2; }));
    const t0 = groups[0]![0]!;
    assert.ok(t0.samplingLogprobs.some((x, i) => Math.abs(x - t0.modelLogprobs[i]!) > 0.05), 'sampling and raw log-probs differ at this temperature');
    const learner = new Learner(policy.model, learnerOptionsFor(run, policy.tokenizer.padId));
    const { metrics } = learner.trainStep(groups.flat());
    assert.ok(Math.abs(metrics.ratio_mean! - 1) < 1e-3, `ratio_mean ${metrics.ratio_mean}`);
    assert.equal(metrics.clip_fraction, 0);
  } finally {
    policy.model.dispose();
  }
});
