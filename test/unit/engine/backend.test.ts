// Backend selection and the model on the wasm backend (the CPU default): same numbers as the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend, backendInfo } from '../../../src/engine/backend.ts';
import { LlamaModel, generate, AdamW } from '../../../src/engine/index.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, referenceLogits, tinyConfig } from './reference.ts';

const logs: string[] = [];

test('wasm backend starts, is logged, and runs the model like the reference', async () => {
  delete process.env.RLMESH_BACKEND;
  assert.equal(await initBackend('wasm', (l) => logs.push(l)), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(logs[0]!, /backend: wasm/);
  assert.equal(backendInfo()?.name, 'wasm');
  const model = LlamaModel.init(tinyConfig(), 8);
  for (const v of model.variables()) if (v.rank === 2) v.assign(tf.mul(v, 10));
  const ids = [1, 4, 6, 8, 3, 9, 2];
  const d = maxAbsDiff(model.logits([ids]).dataSync(), referenceLogits(model.config, model.toWeights(), ids).flat());
  assert.ok(d < 1e-4, `wasm vs reference ${d}`);
  // KV-cache decoding vs full forward on wasm too
  const steps: Float32Array[] = [];
  const [g] = generate(model, [[1, 4, 6]], { maxNewTokens: 6, seed: 1, stopTokens: [], onLogits: (_s, l) => steps.push(Float32Array.from(l)) });
  const seq = [1, 4, 6, ...g!.tokens.slice(0, steps.length - 1)];
  const full = model.logits([seq]).arraySync()[0]!;
  steps.forEach((s, i) => assert.ok(maxAbsDiff(s, full[2 + i]!) <= 1e-5, `step ${i}`));
  // a training step runs (no missing gradient kernels) and lowers the loss
  const opt = new AdamW(model.params, { lr: 1e-2 });
  const loss = () => tf.neg(tf.mean(model.tokenLogprobs([ids.slice(0, -1)], undefined, [ids.slice(1)]))) as tf.Scalar;
  const first = opt.trainStep(loss).loss;
  for (let i = 0; i < 5; i++) opt.trainStep(loss);
  assert.ok(opt.trainStep(loss).loss < first);
  opt.dispose();
  model.dispose();
});

test('an unknown or unavailable forced backend fails with a clear message', async () => {
  await assert.rejects(initBackend('tpu'), (e: unknown) => e instanceof RlmeshError && e.field === 'RLMESH_BACKEND' && /unknown backend 'tpu'/.test(e.message));
  let hasNode = true;
  try { execFileSync(process.execPath, ['-e', "require.resolve('@tensorflow/tfjs-node')"], { stdio: 'ignore' }); } catch { hasNode = false; }
  if (!hasNode) {
    await assert.rejects(initBackend('tensorflow'), (e: unknown) => e instanceof RlmeshError && /backend 'tensorflow' is unavailable: .*tfjs-node/.test(e.message));
  }
});

test('RLMESH_NATIVE_BLAS=1 with another backend forced is refused naming the setting', async () => {
  const saved = process.env.RLMESH_NATIVE_BLAS;
  process.env.RLMESH_NATIVE_BLAS = '1';
  try {
    await assert.rejects(initBackend('cpu'), (e: unknown) => e instanceof RlmeshError && e.field === 'RLMESH_NATIVE_BLAS' && /needs the wasm backend; RLMESH_BACKEND is 'cpu'/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.RLMESH_NATIVE_BLAS;
    else process.env.RLMESH_NATIVE_BLAS = saved;
  }
});
