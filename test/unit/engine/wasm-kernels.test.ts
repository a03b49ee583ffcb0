// The wasm BatchMatMul override (src/engine/wasm-kernels.ts) against a plain triple loop and the stock paths:
// same numbers for rank 3 and 4, forward and gradient, and the stock kernel still serves what it does not take.
// These test the XNNPACK path, so the OpenBLAS addon is switched off when it is built (native-blas.test.ts).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/engine/backend.ts';
import { AdamW, LlamaModel } from '../../../src/engine/index.ts';
import { bmm } from '../../../src/engine/layers.ts';
import { useNativeBlas, wasmKernelsInstalled, wasmProducts } from '../../../src/engine/wasm-kernels.ts';
import { maxAbsDiff, randomArray, tinyConfig } from './reference.ts';

/** out[b] = a[b]·c[b] for row-major a [batch, M, K], c [batch, K, N] (an operand with batch 1 broadcasts). */
function loopProduct(a: Float32Array, c: Float32Array, batch: number, M: number, K: number, N: number, batchA = batch, batchC = batch): Float32Array {
  const out = new Float32Array(batch * M * N);
  for (let b = 0; b < batch; b++) {
    const oa = (batchA === 1 ? 0 : b) * M * K, oc = (batchC === 1 ? 0 : b) * K * N;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[oa + i * K + k]! * c[oc + k * N + j]!;
      out[b * M * N + i * N + j] = s;
    }
  }
  return out;
}

// Every test here checks the XNNPACK path: the OpenBLAS addon (when built) is switched off for the whole file.
before(async () => {
  assert.equal(await initBackend('wasm', () => {}), 'wasm');
  useNativeBlas(null);
});

test('batched products on the wasm override equal a plain loop (rank 3 and 4, odd sizes)', async () => {
  assert.ok(wasmKernelsInstalled(), 'the BatchMatMul override is registered');
  assert.equal(wasmProducts(), 'xnnpack');
  const cases: Array<[number[], number, number, number]> = [[[5], 7, 3, 9], [[2, 3], 17, 8, 5], [[24], 64, 32, 64], [[1, 4], 1, 16, 33]];
  for (const [lead, M, K, N] of cases) {
    const batch = lead.reduce((x, y) => x * y, 1);
    const a = randomArray(batch * M * K, 1), c = randomArray(batch * K * N, 2);
    const got = tf.tidy(() => tf.matMul(tf.tensor(a, [...lead, M, K]), tf.tensor(c, [...lead, K, N])).dataSync());
    const d = maxAbsDiff(got, loopProduct(a, c, batch, M, K, N));
    assert.ok(d < 1e-4, `${lead} x ${M}x${K}x${N}: max diff ${d}`);
  }
});

test('broadcasts (stock kernel) and transposed operands (copied, then the plain path) compute the right product', async () => {
  await initBackend('wasm', () => {});
  const a = randomArray(4 * 6 * 5, 3), c = randomArray(5 * 7, 4);
  // broadcast: [4, 6, 5] x [1, 5, 7]
  const got = tf.tidy(() => tf.matMul(tf.tensor(a, [4, 6, 5]), tf.tensor(c, [1, 5, 7])).dataSync());
  assert.ok(maxAbsDiff(got, loopProduct(a, c, 4, 6, 5, 7, 4, 1)) < 1e-4);
  // transpose flag on the right operand: a·(cᵀ)ᵀ with c stored as [4, 7, 5]
  const ct = randomArray(4 * 7 * 5, 5);
  const cAsKN = new Float32Array(4 * 5 * 7);
  for (let b = 0; b < 4; b++) for (let k = 0; k < 5; k++) for (let j = 0; j < 7; j++) cAsKN[b * 35 + k * 7 + j] = ct[b * 35 + j * 5 + k]!;
  const gotT = tf.tidy(() => tf.matMul(tf.tensor(a, [4, 6, 5]), tf.tensor(ct, [4, 7, 5]), false, true).dataSync());
  assert.ok(maxAbsDiff(gotT, loopProduct(a, cAsKN, 4, 6, 5, 7)) < 1e-4);
});

test('transposed operands at rank 2 and 4 equal the cpu backend, and their copies are freed', async () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [
    [[6, 5], [7, 5], false, true], [[5, 6], [5, 7], true, false], [[5, 6], [7, 5], true, true],
    [[2, 3, 6, 4], [2, 3, 5, 4], false, true], [[2, 3, 4, 6], [2, 3, 4, 5], true, false],
  ];
  const run = () => shapes.map(([sa, sb, ta, tb], i) => tf.tidy(() =>
    tf.matMul(tf.tensor(randomArray(tf.util.sizeFromShape(sa), 20 + i), sa), tf.tensor(randomArray(tf.util.sizeFromShape(sb), 40 + i), sb), ta, tb).dataSync()));
  await initBackend('wasm', () => {});
  run(); // warm-up: the first products allocate the kernels' own buffers
  const before = tf.engine().backend.numDataIds();
  const onWasm = run();
  assert.equal(tf.engine().backend.numDataIds(), before, 'no transposed copy is left behind');
  await tf.setBackend('cpu');
  const onCpu = run();
  await tf.setBackend('wasm');
  onWasm.forEach((got, i) => assert.ok(maxAbsDiff(got, onCpu[i]!) < 1e-4, `case ${i}`));
});

test('bmm gradients on wasm match the cpu backend', async () => {
  const a = randomArray(2 * 3 * 6 * 4, 6), c = randomArray(2 * 3 * 4 * 5, 7), w = randomArray(2 * 3 * 6 * 5, 8);
  const grads = () => tf.tidy(() => {
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(bmm(x as tf.Tensor4D, y as tf.Tensor4D), tf.tensor(w, [2, 3, 6, 5])));
    const g = tf.grads(loss)([tf.tensor(a, [2, 3, 6, 4]), tf.tensor(c, [2, 3, 4, 5])]);
    return g.map((t) => t.dataSync());
  });
  await initBackend('wasm', () => {});
  const onWasm = grads();
  await tf.setBackend('cpu');
  const onCpu = grads();
  await tf.setBackend('wasm');
  for (let i = 0; i < 2; i++) assert.ok(maxAbsDiff(onWasm[i]!, onCpu[i]!) < 1e-4, `gradient ${i}`);
});

test('bmm with tb (a·bᵀ, attention scores against cached keys): value and gradients equal bmm against bᵀ', () => {
  const a = randomArray(2 * 3 * 6 * 4, 16), kRows = randomArray(2 * 3 * 5 * 4, 17), w = randomArray(2 * 3 * 6 * 5, 18);
  const run = (transposed: boolean) => tf.tidy(() => {
    const loss = (x: tf.Tensor, y: tf.Tensor) => {
      const out = transposed ? bmm(x as tf.Tensor4D, y as tf.Tensor4D, true) : bmm(x as tf.Tensor4D, tf.transpose(y, [0, 1, 3, 2]) as tf.Tensor4D);
      return tf.sum(tf.mul(out, tf.tensor(w, [2, 3, 6, 5])));
    };
    const x = tf.tensor(a, [2, 3, 6, 4]), y = tf.tensor(kRows, [2, 3, 5, 4]);
    const { value, grads } = tf.valueAndGrads(loss)([x, y]);
    return [value.dataSync(), ...grads.map((g) => g.dataSync())];
  });
  const [withTb, explicit] = [run(true), run(false)];
  for (let i = 0; i < 3; i++) assert.ok(maxAbsDiff(withTb[i]!, explicit[i]!) < 1e-4, `${['value', 'da', 'db'][i]}`);
});

test('split and rank-2 transpose on the wasm overrides equal the cpu backend (float32 and int32, odd sizes)', async () => {
  const x = randomArray(37 * 70, 9);
  const ints = Int32Array.from({ length: 37 * 70 }, (_, i) => (i * 2654435761) | 0); // includes NaN-pattern bit strings
  const run = () => tf.tidy(() => {
    const f = tf.tensor(x, [37, 70]), n = tf.tensor(ints, [37, 70], 'int32'), r4 = tf.tensor(randomArray(2 * 5 * 12 * 3, 10), [2, 5, 12, 3]);
    return [
      ...tf.split(f, [20, -1, 10], 1), ...tf.split(n, 2, 1), ...tf.split(r4, [4, 8], 2), ...tf.split(f, [30, 7], 0),
      tf.transpose(f), tf.transpose(n), tf.transpose(tf.tensor(x.subarray(0, 129), [1, 129])),
    ].map((t) => Array.from(t.dataSync()));
  });
  await initBackend('wasm', () => {});
  const onWasm = run();
  await tf.setBackend('cpu');
  const onCpu = run();
  await tf.setBackend('wasm');
  assert.equal(onWasm.length, onCpu.length);
  onWasm.forEach((got, i) => assert.deepEqual(got, onCpu[i], `output ${i}`));
});

test('identity on wasm shares memory: a clone outlives its source, and a training step frees what it allocates', async () => {
  await initBackend('wasm', () => {});
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const ids0 = backend.numDataIds(), bytes0 = tf.memory().numBytes;
  const values = randomArray(1000, 11);
  const x = tf.tensor(values, [10, 100]);
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), ids0 + 1, 'the clone shares its source\'s memory');
  x.dispose();
  assert.deepEqual(y.dataSync(), values, 'the clone still reads its values after the source is disposed');
  y.dispose();
  assert.equal(backend.numDataIds(), ids0);
  assert.equal(tf.memory().numBytes, bytes0);

  const model = LlamaModel.init({ ...tinyConfig(), hidden_size: 32, intermediate_size: 48 }, 3);
  const opt = new AdamW(model.params, { lr: 1e-2 });
  const ids = [[1, 5, 9, 3, 7, 2], [1, 6, 2, 8, 4, 9]];
  const loss = () => tf.neg(tf.mean(model.tokenLogprobs(ids.map((r) => r.slice(0, 5)), undefined, ids.map((r) => r.slice(1))))) as tf.Scalar;
  // After one step every variable holds memory of its own (the tensors they were made from hold the rest).
  const first = opt.trainStep(loss).loss;
  const before = { tensors: tf.memory().numTensors, ids: backend.numDataIds() };
  const second = opt.trainStep([loss, loss]).loss / 2;
  assert.ok(second < first, `the steps train: loss ${first} then ${second}`);
  assert.deepEqual({ tensors: tf.memory().numTensors, ids: backend.numDataIds() }, before);
  opt.dispose();
  model.dispose();
});
