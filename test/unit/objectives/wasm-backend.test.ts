// Every composition runs forward + backward on the wasm backend (the learner's default) and agrees with cpu:
// a kernel the wasm backend lacks (e.g. tf.gather's gradient, UnsortedSegmentSum) fails here, not in a run.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { compileObjectives, computeLoss } from '../../../src/objectives/index.ts';
import type { ObjectivesOptions } from '../../../src/objectives/index.ts';
import { batchOf, cases, logits } from './fixtures.ts';

before(async () => {
  await import('@tensorflow/tfjs-backend-wasm');
  await import('@tensorflow/tfjs-backend-cpu');
});

async function lossAndGrad(backend: string, opts: ObjectivesOptions): Promise<{ loss: number; grad: number[] }> {
  assert.ok(await tf.setBackend(backend), `backend ${backend}`);
  await tf.ready();
  const compiled = compileObjectives(opts);
  return tf.tidy(() => {
    const z = tf.tensor3d(logits);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => computeLoss(compiled, batchOf(x as tf.Tensor3D)).loss)(z);
    return { loss: value.dataSync()[0]!, grad: Array.from(grad.dataSync()) };
  });
}

for (const [what, opts] of cases) {
  test(`wasm forward + backward matches cpu: ${what}`, async () => {
    const cpu = await lossAndGrad('cpu', opts);
    const wasm = await lossAndGrad('wasm', opts);
    assert.ok(Number.isFinite(wasm.loss), `${what}: wasm loss ${wasm.loss}`);
    assert.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-4 + 1e-4 * Math.abs(cpu.loss), `${what}: loss wasm ${wasm.loss} vs cpu ${cpu.loss}`);
    const scale = Math.max(...cpu.grad.map(Math.abs));
    assert.ok(scale > 0, `${what}: zero gradient`);
    cpu.grad.forEach((g, i) => {
      assert.ok(Math.abs(wasm.grad[i]! - g) <= 1e-4 * scale + 1e-6, `${what}: grad[${i}] wasm ${wasm.grad[i]} vs cpu ${g}`);
    });
  });
}
