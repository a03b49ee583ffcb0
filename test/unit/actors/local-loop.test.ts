// The in-process loop stays inside its run's learning-rate schedule, and `rlmesh compare` stops a config there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../../src/engine/index.ts';
import { compileRunConfig } from '../../../src/config/index.ts';
import { loadPolicy, maxLoopSteps, runLocalLoop } from '../../../src/actors/index.ts';
import { loadCompareConfig, measureToTarget } from '../../../src/cli/commands/compare.ts';
import { RlmeshError } from '../../../src/errors.ts';

const tiny = (schedule: string, steps: number) => ({
  run_id: 'loop-test', mode: 'rlvr', seed: 0, student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
  rollout: { group_size: 2, sampling: { temperature: 1.0, max_new_tokens: 8 } },
  learner: { steps, batch_size: 4, lr: 1e-4, lr_schedule: schedule, max_staleness: 2 },
  objective: { name: 'grpo', params: {} },
});

test('maxLoopSteps: learner.steps when the rate decays to 0 there, unbounded otherwise', () => {
  assert.equal(maxLoopSteps(compileRunConfig(tiny('constant', 3))), Infinity);
  assert.equal(maxLoopSteps(compileRunConfig(tiny('cosine', 3))), 3);
  assert.equal(maxLoopSteps(compileRunConfig(tiny('linear', 5))), 5);
  const floor = tiny('cosine', 3);
  assert.equal(maxLoopSteps(compileRunConfig({ ...floor, learner: { ...floor.learner, min_lr_ratio: 0.1 } })), Infinity);
});

test('runLocalLoop refuses steps past a decaying schedule, naming the field, before training', async () => {
  await initBackend('wasm');
  const student = await loadPolicy('models/student');
  try {
    const before = student.model.toWeights().get('model.embed_tokens.weight')!.data.slice();
    assert.throws(() => runLocalLoop({ run: compileRunConfig(tiny('cosine', 3)), student, steps: 4 }), (e: unknown) =>
      e instanceof RlmeshError && e.field === 'steps' && /past learner\.steps \(3\).*cosine/.test(e.message));
    assert.deepEqual(student.model.toWeights().get('model.embed_tokens.weight')!.data, before, 'nothing was trained');
  } finally {
    student.model.dispose();
  }
});

test('compare stops a decaying-schedule config at its learner.steps and reports the limit', async () => {
  await initBackend('wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-compare-'));
  try {
    const file = path.join(dir, 'cosine.json');
    writeFileSync(file, JSON.stringify(tiny('cosine', 2)));
    // accuracy 1.0 is out of reach: the config runs to its end, not to --max-steps
    const row = await measureToTarget(file, await loadCompareConfig(file), 1.0, 6, 1, 8);
    assert.equal(row.reached, false);
    assert.equal(row.maxSteps, 2);
    assert.deepEqual(row.accuracyCurve.map((p) => p.step), [0, 1, 2]);
    assert.equal(row.steps, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the in-process loop grades and samples as a distributed run does: reward shaping and the curriculum\'s length cap apply', async () => {
  await initBackend('wasm');
  const student = await loadPolicy('models/student');
  try {
    const base = tiny('constant', 3);
    const firstStep = (over: Record<string, unknown>) => {
      let metrics: Record<string, number> = {};
      runLocalLoop({ run: compileRunConfig({ ...base, ...over }), student: { ...student, version: 0 }, steps: 1, onStep: (_s, m) => { metrics = m; return false; } });
      return metrics;
    };
    const plain = firstStep({}).reward!;
    // every completion is past L_max = 4 tokens: the overlong shaper takes kappa = 1 off each reward (the loop ignored it)
    const shaped = firstStep({ reward_shaping: [{ name: 'overlong', params: { max_length: 4, buffer: 2, kappa: 1 } }] }).reward!;
    assert.ok(Math.abs(shaped - (plain - 1)) < 1e-9, `plain ${plain}, shaped ${shaped}`);
    // tlts-budget with cap_max_new_tokens caps sampling at twice the budget (the loop sampled max_new_tokens)
    const capped = firstStep({
      rollout: { ...base.rollout, sampling: { ...base.rollout.sampling, max_new_tokens: 32 } },
      curriculum: { name: 'uniform', layers: [{ name: 'tlts-budget', params: { start: 2, final: 2, cap_max_new_tokens: true } }] },
    });
    assert.ok(capped.response_length! <= 4, `response length ${capped.response_length}`);
  } finally {
    student.model.dispose();
  }
});

test('the entropy-gated length curriculum grows in the in-process loop: it measures held-out entropy when asked', async () => {
  await initBackend('wasm');
  const student = await loadPolicy('models/student');
  try {
    const base = tiny('constant', 4);
    const run = compileRunConfig({
      ...base, rollout: { ...base.rollout, sampling: { ...base.rollout.sampling, max_new_tokens: 32 } }, eval: { heldout_size: 16 },
      curriculum: { name: 'uniform', layers: [{ name: 'entropy-gated-length', params: { start_length: 4, max_length: 32, steps_per_stage: 1, min_entropy_ratio: 0.01 } }] },
    });
    const lengths: number[] = [];
    runLocalLoop({ run, student: { ...student, version: 0 }, steps: 4, onStep: (_s, m) => { lengths.push(m.response_length!); return false; } });
    assert.ok(lengths[0]! <= 4, `stage 0 caps at 4 tokens: ${lengths}`);
    assert.ok(Math.max(...lengths.slice(2)) > 4, `the length grew once held-out entropy held: ${lengths}`);
  } finally {
    student.model.dispose();
  }
});
