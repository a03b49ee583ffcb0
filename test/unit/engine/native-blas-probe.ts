// Child process for native-blas.test.ts: starts the wasm backend as the environment says (RLMESH_WASM_THREADS,
// RLMESH_NATIVE_BLAS), runs products with and without transposes and broadcasts, and prints one JSON line with
// the backend line, what ran the products, the heap's buffer kind and the products' values.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/engine/backend.ts';
import { wasmProducts } from '../../../src/engine/wasm-kernels.ts';
import { Prng } from '../../../src/engine/prng.ts';

const lines: string[] = [];
await initBackend('wasm', (l) => lines.push(l));
const rng = new Prng(11);
const values = (n: number) => Array.from({ length: n }, () => rng.uniform() * 2 - 1);
/** [aShape, bShape, transposeA, transposeB] */
const cases: Array<[number[], number[], boolean, boolean]> = [
  [[37, 129], [129, 65], false, false],
  [[6, 33, 17], [6, 17, 9], false, false],
  [[3, 17, 33], [3, 9, 17], true, true],
];
// A broadcast of batch [2, 1] against [1, 3]: OpenBLAS only (the stock wasm kernel sizes its output wrongly).
if (wasmProducts() === 'openblas') cases.push([[2, 1, 7, 5], [1, 3, 5, 4], false, false]);
const products = cases.map(([sa, sb, ta, tb]) => {
  const a = values(sa.reduce((x, y) => x * y, 1)), b = values(sb.reduce((x, y) => x * y, 1));
  const c = tf.tidy(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb));
  return { aShape: sa, bShape: sb, ta, tb, a, b, shape: c.shape, c: Array.from(c.dataSync()) };
});
const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
console.log(JSON.stringify({ log: lines[0], products: wasmProducts(), shared: heap instanceof SharedArrayBuffer, results: products }));
