// Child process for wasm-threads.test.ts: starts the wasm backend with RLMESH_WASM_THREADS from the environment,
// runs a product, a batched product and a model forward + training step, and prints one JSON line (the results'
// float32 bytes in base64).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/engine/backend.ts';
import { AdamW, LlamaModel } from '../../../src/engine/index.ts';
import { tinyConfig } from './reference.ts';

const lines: string[] = [];
await initBackend('wasm', (l) => lines.push(l));
const wasm = await import('@tensorflow/tfjs-backend-wasm');
const bytes = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).buffer).toString('base64');
const a = tf.randomUniform([300, 200], -1, 1, 'float32', 1), b = tf.randomUniform([200, 150], -1, 1, 'float32', 2);
const qa = tf.randomUniform([6, 70, 40], -1, 1, 'float32', 3), qb = tf.randomUniform([6, 40, 90], -1, 1, 'float32', 4);
const model = LlamaModel.init({ ...tinyConfig(), hidden_size: 64, intermediate_size: 128 }, 5);
const ids = [[1, 5, 9, 3, 7, 2, 4, 8], [1, 6, 2, 8, 4, 9, 3, 5]];
const opt = new AdamW(model.params, { lr: 1e-2 });
opt.trainStep(() => tf.neg(tf.mean(model.tokenLogprobs(ids.map((r) => r.slice(0, 7)), undefined, ids.map((r) => r.slice(1))))) as tf.Scalar);
console.log(JSON.stringify({
  log: lines[0], threads: wasm.getThreadsCount(),
  product: bytes(tf.matMul(a, b)), batched: bytes(tf.matMul(qa, qb)), logits: bytes(model.logits(ids)),
}));
