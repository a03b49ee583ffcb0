// Properties of the objectives (JSD limits, vanishing KL, zero GRPO gradient, kept denominators) and registry errors.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  compileMethod,
  compileObjectives,
  computeLoss,
  forwardKl,
  generalizedJsd,
  listMethods,
  methodRegistry,
  reverseKl,
} from '../../../src/objectives/index.ts';
import { isRlmeshError } from '../../../src/errors.ts';
import type { ObjectiveBatch } from '../../../src/objectives/index.ts';
import { close, randomLogits, useCpu } from './helpers.ts';

before(useCpu);

const B = 4;
const T = 5;
const V = 6;

test('generalized JSD: beta = 0 is forward KL(pT||pS), beta = 1 is reverse KL(pS||pT), and near either end the interior tends to beta * forward or (1 - beta) * reverse KL', () => {
  const student = tf.logSoftmax(tf.tensor3d(randomLogits(B, T, V, 1))) as tf.Tensor3D;
  const teacher = tf.logSoftmax(tf.tensor3d(randomLogits(B, T, V, 2, 2))) as tf.Tensor3D;
  const pair = { student, teacher };
  const f = forwardKl(pair).dataSync();
  const r = reverseKl(pair).dataSync();
  const j0 = generalizedJsd(pair, 0).dataSync();
  const j1 = generalizedJsd(pair, 1).dataSync();
  const manualF = tf.sum(tf.mul(tf.exp(teacher), tf.sub(teacher, student)), -1).dataSync();
  for (let i = 0; i < f.length; i++) {
    close(j0[i]!, f[i]!, 1e-6);
    close(j1[i]!, r[i]!, 1e-6);
    close(f[i]!, manualF[i]!, 1e-6);
  }
  assert.ok(f.some((x, i) => Math.abs(x - r[i]!) > 1e-2), 'forward and reverse KL differ on these distributions');
  // Inside (0, 1) the mixture M = beta pT + (1 - beta) pS moves with beta, so the divergence goes to 0 at both ends at
  // the rate of its end point's KL: JSD(beta) ~ beta * forward KL near 0 and (1 - beta) * reverse KL near 1.
  const near0 = generalizedJsd(pair, 0.001).dataSync();
  const near1 = generalizedJsd(pair, 0.999).dataSync();
  for (let i = 0; i < f.length; i++) {
    assert.ok(Math.abs(near0[i]! / 0.001 - f[i]!) <= 0.02 * f[i]!, `near 0: ${near0[i]! / 0.001} vs forward KL ${f[i]}`);
    assert.ok(Math.abs(near1[i]! / 0.001 - r[i]!) <= 0.02 * r[i]!, `near 1: ${near1[i]! / 0.001} vs reverse KL ${r[i]}`);
  }
});

function batchFrom(studentLogits: tf.Tensor3D, teacherLogits: number[][][]): ObjectiveBatch {
  const [b, t] = studentLogits.shape;
  return {
    studentLogprobs: tf.zeros([b, t]) as tf.Tensor2D,
    studentLogprobsFull: tf.logSoftmax(studentLogits) as tf.Tensor3D,
    teacherLogprobsFull: tf.logSoftmax(tf.tensor3d(teacherLogits)) as tf.Tensor3D,
    mask: tf.ones([b, t]) as tf.Tensor2D,
  };
}

test('reverse KL and its gradient vanish when student == teacher, and not otherwise', () => {
  const z = randomLogits(B, T, V, 3);
  for (const name of ['reverse-kl', 'kl-mix', 'gkd-jsd', 'forward-kl'] as const) {
    const loss = compileMethod('objective', name, {}).fn;
    const g = tf.grad((s: tf.Tensor) => loss(batchFrom(s as tf.Tensor3D, z)).loss);
    const same = tf.tensor3d(z);
    close(loss(batchFrom(same, z)).loss.dataSync()[0]!, 0, 1e-6, name);
    assert.ok(Math.max(...Array.from(g(same).dataSync()).map(Math.abs)) < 1e-6, `${name}: gradient at equality`);
    const other = tf.tensor3d(randomLogits(B, T, V, 4));
    assert.ok(loss(batchFrom(other, z)).loss.dataSync()[0]! > 1e-3, `${name}: positive away from equality`);
    assert.ok(Math.max(...Array.from(g(other).dataSync()).map(Math.abs)) > 1e-4, `${name}: gradient away from equality`);
  }
});

test('equal rewards within each group give zero GRPO-family gradient', () => {
  const y = tf.tensor2d([[0, 1, 2, 3, 4], [1, 1, 1, 1, 1], [2, 3, 0, 1, 5], [5, 4, 3, 2, 1]], [B, T], 'int32');
  const z = tf.tensor3d(randomLogits(B, T, V, 5));
  for (const name of ['grpo', 'dapo', 'bnpo', 'dr-grpo'] as const) {
    const loss = compileMethod('objective', name, {}).fn;
    const grad = (rewards: number[]) =>
      tf.grad((s: tf.Tensor) => {
        const full = tf.logSoftmax(s) as tf.Tensor3D;
        const lp = tf.sum(tf.mul(tf.oneHot(y, V), full), -1) as tf.Tensor2D; // [B, T]
        return loss({ studentLogprobs: lp, mask: tf.ones([B, T]) as tf.Tensor2D, rewards, groupIds: [0, 0, 1, 1] }).loss;
      })(z);
    const flat = (rewards: number[]) => Math.max(...Array.from(grad(rewards).dataSync()).map(Math.abs));
    assert.equal(flat([1, 1, 0, 0]), 0, `${name}: equal rewards per group`);
    assert.ok(flat([1, 0, 0, 1]) > 1e-3, `${name}: mixed rewards give a gradient`);
  }
});

test('top-entropy keeps the aggregation denominator; TIP divides by the kept tokens', () => {
  const lp = tf.tensor2d([[-1, -1, -1, -1, -1]]);
  const batch: ObjectiveBatch = {
    studentLogprobs: lp,
    samplingLogprobs: lp,
    mask: tf.ones([1, 5]) as tf.Tensor2D,
    entropies: tf.tensor2d([[0.1, 0.5, 2.0, 1.0, 0.3]]),
    advantages: [1],
  };
  const plain = computeLoss(compileObjectives({ objective: { name: 'dapo' } }), batch);
  const sel = computeLoss(
    compileObjectives({ objective: { name: 'dapo' }, token_selector: { name: 'top-entropy', params: { rho: 0.2 } } }),
    batch,
  );
  close(plain.loss.dataSync()[0]!, -1, 1e-6); // -rho A over 5 tokens / 5
  close(sel.loss.dataSync()[0]!, -1 / 5, 1e-6); // one kept token, still / 5
  close(sel.metrics.kept_token_fraction!, 0.2, 1e-6);
  // TIP Q3 rule: kept tokens only in the denominator
  const z = randomLogits(1, 6, 4, 8);
  const tb = batchFrom(tf.tensor3d(z), randomLogits(1, 6, 4, 9, 3));
  const tipBatch = { ...tb, mask: tf.ones([1, 6]) as tf.Tensor2D };
  const tip = compileObjectives({ objective: { name: 'reverse-kl' }, token_selector: { name: 'tip', params: { rule: 'weighted', ratio: 0.5 } } });
  const r = computeLoss(tip, tipBatch);
  close(r.metrics.kept_token_fraction!, 0.5, 1e-6);
  const perTok = reverseKl({ student: tipBatch.studentLogprobsFull!, teacher: tipBatch.teacherLogprobsFull! }).dataSync();
  const keep = tip.tokenSelector!.fn(tipBatch).keep.dataSync();
  const expected = Array.from(perTok).reduce((a, v, i) => a + v * keep[i]!, 0) / 3;
  close(r.loss.dataSync()[0]!, expected, 1e-5);
});

test('TIP weighted sampling is seeded, keeps k tokens and prefers high-entropy tokens', () => {
  const tb = batchFrom(tf.tensor3d(randomLogits(B, T, V, 12, 2)), randomLogits(B, T, V, 13, 2));
  const sel = compileMethod('token_selector', 'tip', { ratio: 0.4, seed: 7 }).fn;
  const a = sel({ ...tb, step: 1 }).keep.dataSync();
  const b = sel({ ...tb, step: 1 }).keep.dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.equal(Array.from(a).reduce((x, v) => x + v, 0), Math.floor(0.4 * B * T));
  // over many steps, kept tokens have higher mean entropy than the batch mean
  const H = tf.neg(tf.sum(tf.mul(tf.exp(tb.studentLogprobsFull!), tb.studentLogprobsFull!), -1)).dataSync();
  let keptH = 0;
  let kept = 0;
  for (let s = 0; s < 30; s++) {
    const k = sel({ ...tb, step: s }).keep.dataSync();
    k.forEach((v, i) => { if (v) { keptH += H[i]!; kept++; } });
  }
  const meanH = Array.from(H).reduce((x, v) => x + v, 0) / H.length;
  assert.ok(keptH / kept > meanH + 0.02, `kept mean entropy ${keptH / kept} vs batch ${meanH}`);
});

test('registry: every family lists methods with strict schemas and spec defaults', () => {
  const all = listMethods();
  for (const family of Object.keys(methodRegistry)) assert.ok(all.some((m) => m.family === family));
  const dapo = all.find((m) => m.name === 'dapo')!;
  assert.equal(dapo.defaults.eps_high, 0.28);
  assert.equal(all.find((m) => m.name === 'dr-grpo')!.defaults.scale_rewards, 'none');
  assert.equal(all.find((m) => m.name === 'top-entropy')!.defaults.rho, 0.2);
  assert.equal(all.find((m) => m.name === 'pw-opsd')!.defaults.token_clip, 0.05);
});

test('registry errors name the unknown method or the offending parameter', () => {
  const expectField = (fn: () => unknown, field: string) =>
    assert.throws(fn, (e: unknown) => isRlmeshError(e) && e.category === 'config' && e.field === field);
  expectField(() => compileMethod('objective', 'ppo-magic', {}), 'objective.name');
  expectField(() => compileMethod('objective', 'grpo', { eps_low: 2 }), 'objective.params.eps_low');
  expectField(() => compileMethod('objective', 'grpo', { epsilon: 0.2 }), 'objective.params.epsilon');
  expectField(() => compileMethod('token_selector', 'top-entropy', { rho: -0.1 }), 'token_selector.params.rho');
  expectField(() => compileMethod('entropy_control', 'entrocraft', { lo_start: 0.9 }), 'entropy_control.params.lo_start');
  expectField(() => compileMethod('reward_shaping', 'overlong', { max_length: 10, buffer: 20 }), 'reward_shaping.params.buffer');
  expectField(
    () => compileObjectives({ objective: { name: 'gkd-jsd' }, entropy_control: { name: 'clip-cov' } }, 'loss'),
    'loss.entropy_control.name',
  );
});

test('missing batch inputs and bad shapes are data errors naming the field', () => {
  const grpo = compileMethod('objective', 'grpo', {}).fn;
  const base = { studentLogprobs: tf.zeros([2, 3]) as tf.Tensor2D, mask: tf.ones([2, 3]) as tf.Tensor2D };
  const expectData = (fn: () => unknown, field: string) =>
    assert.throws(fn, (e: unknown) => isRlmeshError(e) && e.category === 'data' && e.field === field);
  expectData(() => grpo(base), 'rewards');
  expectData(() => grpo({ ...base, rewards: [1, 0], groupIds: [0] }), 'groupIds');
  expectData(() => grpo({ ...base, samplingLogprobs: tf.zeros([2, 4]) as tf.Tensor2D, advantages: [1, 0] }), 'samplingLogprobs');
  expectData(() => compileMethod('objective', 'gkd-jsd', {}).fn(base), 'studentLogprobsFull');
  expectData(() => compileMethod('reward_shaping', 'pear', {}).fn([{ reward: 1 }]), 'samples.0.correct');
});

test('SIREN anchor survives a checkpoint: export after a step, import into a fresh compile, same next loss', async () => {
  const { batchOf, logits } = await import('./fixtures.ts');
  const { exportObjectiveState, importObjectiveState } = await import('../../../src/objectives/index.ts');
  const opts = { objective: { name: 'grpo' }, entropy_control: { name: 'siren', params: { lambda: 1, top_p: 0.95, mask_quantile: 0 } } };
  const first = compileObjectives(opts);
  assert.deepEqual(exportObjectiveState(first), { entropy_control: { anchor: null } });
  tf.tidy(() => computeLoss(first, batchOf(tf.tensor3d(logits))).loss.dataSync());
  const saved = JSON.parse(JSON.stringify(exportObjectiveState(first)));
  assert.equal(typeof saved.entropy_control.anchor, 'number', 'the first batch set the anchor');
  const shifted = tf.tensor3d(logits.map((b) => b.map((t) => t.map((x, i) => x * 1.7 + i * 0.3))));
  const lossAfter = (c: ReturnType<typeof compileObjectives>) => tf.tidy(() => computeLoss(c, batchOf(shifted)).loss.dataSync()[0]!);
  const resumed = compileObjectives(opts);
  importObjectiveState(resumed, saved);
  const fresh = compileObjectives(opts); // without the state it would anchor to the shifted batch instead
  close(lossAfter(resumed), lossAfter(first), 1e-6);
  assert.ok(Math.abs(lossAfter(fresh) - lossAfter(first)) > 1e-4, 'a fresh compile anchors elsewhere (the test can tell)');
  assert.deepEqual(exportObjectiveState(compileObjectives({ objective: { name: 'grpo' } })), {});
  assert.throws(() => importObjectiveState(resumed, { entropy_control: { anchor: Number.NaN } }), /objectives.entropy_control.anchor/);
});
