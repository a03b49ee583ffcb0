// The optional OpenBLAS products (src/engine/native-blas.ts, native/blas): OpenBLAS and XNNPACK BatchMatMul agree
// across shapes, transposes and broadcasts; a learner step's loss and gradients agree with and without the addon;
// the threaded build (a SharedArrayBuffer heap) works; and without the addon the XNNPACK path runs unchanged.
// Tests that need the addon skip, saying so, when it is not built (CI); the fallback tests always run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/engine/backend.ts';
import { AdamW, LlamaModel } from '../../../src/engine/index.ts';
import { NATIVE_BLAS_PATH, blasThreadsFromEnv, broadcastBatch, loadNativeBlas, nativeBlasModeFromEnv, openblasCoreFor } from '../../../src/engine/native-blas.ts';
import type { NativeBlas } from '../../../src/engine/native-blas.ts';
import { useNativeBlas, wasmProducts } from '../../../src/engine/wasm-kernels.ts';
import { Prng } from '../../../src/engine/prng.ts';
import { RlmeshError } from '../../../src/errors.ts';
import { maxAbsDiff, randomArray, tinyConfig } from './reference.ts';

const BUILT = existsSync(NATIVE_BLAS_PATH);
const needsAddon = BUILT ? false : `the OpenBLAS addon is not built (${path.relative(process.cwd(), NATIVE_BLAS_PATH)}; npm run build:native)`;
const MISSING = path.join(import.meta.dirname, 'no-such-dir', 'rlmesh_blas.node');
const probe = path.join(import.meta.dirname, 'native-blas-probe.ts');

/** matMul(a, b, ta, tb) in float64 with numpy batch broadcasting, from the flat row-major values. */
function reference(a: ArrayLike<number>, sa: number[], b: ArrayLike<number>, sb: number[], ta: boolean, tb: boolean): { shape: number[]; values: Float64Array } {
  const ra = sa.length, rb = sb.length;
  const M = ta ? sa[ra - 1]! : sa[ra - 2]!, K = ta ? sa[ra - 2]! : sa[ra - 1]!, N = tb ? sb[rb - 2]! : sb[rb - 1]!;
  const rank = Math.max(ra, rb) - 2;
  const padA = [...new Array<number>(rank - (ra - 2)).fill(1), ...sa.slice(0, -2)];
  const padB = [...new Array<number>(rank - (rb - 2)).fill(1), ...sb.slice(0, -2)];
  const outer = padA.map((d, i) => Math.max(d, padB[i]!));
  const total = outer.reduce((x, y) => x * y, 1);
  const values = new Float64Array(total * M * N);
  for (let o = 0; o < total; o++) {
    let rest = o, ia = 0, ib = 0, sA = 1, sB = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const k = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      ia += (padA[d] === 1 ? 0 : k) * sA; sA *= padA[d]!;
      ib += (padB[d] === 1 ? 0 : k) * sB; sB *= padB[d]!;
    }
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const x = a[ia * M * K + (ta ? k * M + i : i * K + k)]!, y = b[ib * K * N + (tb ? j * K + k : k * N + j)]!;
        s += x * y;
      }
      values[o * M * N + i * N + j] = s;
    }
  }
  return { shape: [...outer, M, N], values };
}

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** Whether the stock wasm kernel (what XNNPACK's override declines) handles the batch: equal, or one side 1. */
const stockBatch = (sa: number[], sb: number[]) => {
  const ba = tf.util.sizeFromShape(sa.slice(0, -2)), bb = tf.util.sizeFromShape(sb.slice(0, -2));
  return ba === bb || ba === 1 || bb === 1;
};

/** The addon with one thread (tests share the machine), loaded once. */
let addon: NativeBlas | null = null;
function nativeBlas(): NativeBlas {
  addon ??= loadNativeBlas('required', 1).blas!;
  return addon;
}

/** [aShape, bShape, transposeA, transposeB]: every flag pair, broadcasts, sizes 1 and odd (unaligned slices). */
const CASES: Array<[number[], number[], boolean, boolean]> = [
  [[37, 129], [129, 65], false, false],
  [[37, 129], [65, 129], false, true],
  [[129, 37], [129, 65], true, false],
  [[129, 37], [65, 129], true, true],
  [[1, 300], [300, 1], false, false],
  [[5, 7, 3], [5, 3, 9], false, false],
  [[2, 3, 17, 8], [2, 3, 8, 5], false, false],
  [[4, 33, 17], [4, 9, 17], false, true],
  [[4, 17, 33], [4, 17, 9], true, false],
  [[3, 17, 33], [3, 9, 17], true, true],
  [[8, 64, 32], [8, 32, 64], false, false],
  [[4, 6, 5], [1, 5, 7], false, false],
  [[1, 6, 5], [4, 5, 7], false, false],
  [[2, 4, 6, 5], [5, 7], false, false],
  [[6, 5], [3, 5, 7], false, false],
  [[2, 1, 7, 5], [1, 3, 5, 4], false, false],
  [[3, 1, 5, 7], [4, 5, 6], true, false],
];

test('broadcastBatch maps each product to its operands (numpy rules) and refuses mismatched batches', () => {
  assert.deepEqual(broadcastBatch([], []), { outer: [], ia: [0], ib: [0] });
  assert.deepEqual(broadcastBatch([3], [1]), { outer: [3], ia: [0, 1, 2], ib: [0, 0, 0] });
  assert.deepEqual(broadcastBatch([2, 1], [3]), { outer: [2, 3], ia: [0, 0, 0, 1, 1, 1], ib: [0, 1, 2, 0, 1, 2] });
  assert.equal(broadcastBatch([2], [3]), null);
});

test('RLMESH_NATIVE_BLAS and RLMESH_BLAS_THREADS are parsed, and bad values refused by name', () => {
  assert.equal(nativeBlasModeFromEnv({}), 'auto');
  assert.equal(nativeBlasModeFromEnv({ RLMESH_NATIVE_BLAS: '' }), 'auto');
  assert.equal(nativeBlasModeFromEnv({ RLMESH_NATIVE_BLAS: '0' }), 'off');
  assert.equal(nativeBlasModeFromEnv({ RLMESH_NATIVE_BLAS: '1' }), 'required');
  assert.throws(() => nativeBlasModeFromEnv({ RLMESH_NATIVE_BLAS: 'yes' }), /RLMESH_NATIVE_BLAS: must be 0 \(off\) or 1 \(required\)/);
  assert.equal(blasThreadsFromEnv({}), 1);
  assert.equal(blasThreadsFromEnv({ RLMESH_WASM_THREADS: '3' }), 3);
  assert.equal(blasThreadsFromEnv({ RLMESH_WASM_THREADS: '3', RLMESH_BLAS_THREADS: '2' }), 2);
  assert.throws(() => blasThreadsFromEnv({ RLMESH_BLAS_THREADS: '0' }), /RLMESH_BLAS_THREADS: must be an integer in \[1, 64\], got '0'/);
});

test('without the addon (missing or off) products stay on XNNPACK and stay right; required fails naming the build step', async () => {
  assert.equal(await initBackend('wasm', () => {}), 'wasm');
  const missing = loadNativeBlas('auto', 1, MISSING);
  assert.equal(missing.blas, null);
  assert.equal(missing.detail, 'batched products on XNNPACK');
  assert.equal(loadNativeBlas('off', 1).blas, null);
  assert.throws(() => loadNativeBlas('required', 1, MISSING), (e: unknown) =>
    e instanceof RlmeshError && e.field === 'RLMESH_NATIVE_BLAS' && /npm run build:native/.test(e.message) && e.message.includes(MISSING));
  useNativeBlas(missing.blas); // what initBackend does with it
  try {
    assert.equal(wasmProducts(), 'xnnpack');
    for (const [sa, sb, ta, tb] of CASES.filter(([sa, sb]) => stockBatch(sa, sb))) {
      const a = randomArray(tf.util.sizeFromShape(sa), 1), b = randomArray(tf.util.sizeFromShape(sb), 2);
      const got = tf.tidy(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb).dataSync());
      const d = maxAbsDiff(got, reference(a, sa, b, sb, ta, tb).values);
      assert.ok(d < 1e-4, `${sa} x ${sb} (${ta}, ${tb}) on XNNPACK: max diff ${d}`);
    }
  } finally {
    useNativeBlas(null);
  }
});

test('RLMESH_NATIVE_BLAS=0 starts the backend on XNNPACK and says so in the backend line', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe], {
    env: { ...process.env, RLMESH_NATIVE_BLAS: '0', RLMESH_WASM_THREADS: '1', RLMESH_BACKEND: '' }, encoding: 'utf8', timeout: 120_000,
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { log: string; products: string; results: Array<{ aShape: number[]; bShape: number[]; ta: boolean; tb: boolean; a: number[]; b: number[]; c: number[] }> };
  assert.match(r.log, /wasm \(1 thread, SIMD; batched products on XNNPACK \(RLMESH_NATIVE_BLAS=0\)\)/);
  assert.equal(r.products, 'xnnpack');
  assert.equal(r.results.length, 3);
  for (const p of r.results) {
    const d = maxAbsDiff(p.c, reference(p.a, p.aShape, p.b, p.bShape, p.ta, p.tb).values);
    assert.ok(d < 1e-4, `${p.aShape} x ${p.bShape}: max diff ${d}`);
  }
});

test('OpenBLAS and XNNPACK products agree (transposes, broadcasts, odd and unit sizes, sliced and transposed operands)', { skip: needsAddon }, async () => {
  await initBackend('wasm', () => {});
  const blas = nativeBlas();
  try {
    CASES.forEach(([sa, sb, ta, tb], n) => {
      const a = randomArray(tf.util.sizeFromShape(sa), 10 + n), b = randomArray(tf.util.sizeFromShape(sb), 50 + n);
      const ref = reference(a, sa, b, sb, ta, tb);
      useNativeBlas(blas);
      assert.equal(wasmProducts(), 'openblas');
      const native = tf.tidy(() => {
        const c = tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb);
        return { shape: c.shape, values: c.dataSync() };
      });
      assert.deepEqual(native.shape, ref.shape, `${sa} x ${sb} (${ta}, ${tb}): shape`);
      const d = maxAbsDiff(native.values, ref.values);
      assert.ok(d < 1e-4, `${sa} x ${sb} (${ta}, ${tb}) on OpenBLAS vs float64: max diff ${d}`);
      if (stockBatch(sa, sb)) {
        useNativeBlas(null);
        const xnn = tf.tidy(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb).dataSync());
        const dx = maxAbsDiff(native.values, xnn);
        assert.ok(dx < 1e-4, `${sa} x ${sb} (${ta}, ${tb}) OpenBLAS vs XNNPACK: max diff ${dx}`);
      }
    });
    // Operands made by other kernels: a slice of a larger tensor and a transposed rank-4 tensor.
    const big = randomArray(9 * 40 * 24, 90), right = randomArray(3 * 24 * 11, 91);
    const run = () => tf.tidy(() => {
      const x = tf.slice(tf.tensor(big, [9, 40, 24]), [2, 3, 0], [3, 31, 24]); // [3, 31, 24]
      const y = tf.transpose(tf.tensor(right, [3, 11, 24]), [0, 2, 1]); // [3, 24, 11]
      return tf.matMul(x, y).dataSync();
    });
    useNativeBlas(blas);
    const onBlas = run();
    useNativeBlas(null);
    const onXnn = run();
    assert.ok(maxAbsDiff(onBlas, onXnn) < 1e-4, `sliced x transposed: max diff ${maxAbsDiff(onBlas, onXnn)}`);
  } finally {
    useNativeBlas(null);
  }
});

const LR = 1e-2;

test('a learner step has the same loss, gradients and updated weights with and without the addon', { skip: needsAddon }, async () => {
  await initBackend('wasm', () => {});
  const blas = nativeBlas();
  const config = { ...tinyConfig(), vocab_size: 19, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };
  const r = new Prng(3);
  const rows = Array.from({ length: 5 }, () => Array.from({ length: 18 }, () => Math.floor(r.uniform() * config.vocab_size)));
  const ids = rows.map((row) => row.slice(0, -1)), targets = rows.map((row) => row.slice(1));
  const step = (useBlas: boolean) => {
    useNativeBlas(useBlas ? blas : null);
    const model = LlamaModel.init(config, 7);
    try {
      const lossFn = () => tf.neg(tf.mean(model.tokenLogprobs(ids, undefined, targets))) as tf.Scalar;
      const { value, grads } = tf.variableGrads(lossFn, model.variables());
      const loss = value.dataSync()[0]!;
      const g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k.replace(/^rlmesh\/m\d+\//, ''), t.dataSync()]));
      tf.dispose([value, ...Object.values(grads)]);
      const opt = new AdamW(model.params, { lr: LR, maxGradNorm: 1 });
      const result = opt.trainStep(lossFn);
      const weights = model.internalData();
      opt.dispose();
      return { loss, grads: g, result, weights };
    } finally {
      model.dispose();
      useNativeBlas(null);
    }
  };
  const onBlas = step(true), onXnn = step(false);
  assert.ok(Number.isFinite(onBlas.loss) && onBlas.loss > 0, `loss ${onBlas.loss}`);
  assert.ok(Math.abs(onBlas.loss - onXnn.loss) <= 1e-5 * onXnn.loss, `loss ${onBlas.loss} vs ${onXnn.loss}`);
  assert.deepEqual(Object.keys(onBlas.grads).sort(), Object.keys(onXnn.grads).sort());
  for (const [k, g] of Object.entries(onXnn.grads)) {
    const d = maxAbsDiff(onBlas.grads[k]!, g), scale = maxAbs(g);
    assert.ok(scale > 0, `${k}: gradient is all zeros`);
    assert.ok(d <= 1e-4 * scale, `${k}: max gradient diff ${d} (largest entry ${scale})`);
  }
  assert.ok(Math.abs(onBlas.result.gradNorm - onXnn.result.gradNorm) <= 1e-5 * onXnn.result.gradNorm, `grad norm ${onBlas.result.gradNorm} vs ${onXnn.result.gradNorm}`);
  // AdamW's first step moves each weight by about lr whatever its gradient's size, so an entry whose gradient is
  // near eps (1e-8) turns float rounding into a visible change: allow 1% of one step.
  for (const [k, w] of onXnn.weights) {
    const d = maxAbsDiff(onBlas.weights.get(k)!, w);
    assert.ok(d <= 1e-2 * LR, `${k}: weights after the step differ by ${d}`);
  }
});

test('the threaded build (SharedArrayBuffer heap) runs products on OpenBLAS and logs it', { skip: needsAddon }, () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe], {
    env: { ...process.env, RLMESH_NATIVE_BLAS: '1', RLMESH_WASM_THREADS: '2', RLMESH_BLAS_THREADS: '', RLMESH_BACKEND: '' }, encoding: 'utf8', timeout: 120_000,
  });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { log: string; products: string; shared: boolean; results: Array<{ aShape: number[]; bShape: number[]; ta: boolean; tb: boolean; a: number[]; b: number[]; shape: number[]; c: number[] }> };
  assert.match(r.log, /wasm \(2 threads, SIMD; batched products on OpenBLAS \(\w+, 2 threads\)\)/);
  assert.equal(r.products, 'openblas');
  assert.equal(r.shared, true, 'the threaded build keeps its heap in a SharedArrayBuffer');
  assert.equal(r.results.length, 4);
  for (const p of r.results) {
    const ref = reference(p.a, p.aShape, p.b, p.bShape, p.ta, p.tb);
    assert.deepEqual(p.shape, ref.shape);
    const d = maxAbsDiff(p.c, ref.values);
    assert.ok(d < 1e-4, `${p.aShape} x ${p.bShape}: max diff ${d}`);
  }
});

test('the OpenBLAS kernel family follows the CPU features (a generic model name falls back to SSE3 otherwise)', () => {
  const flags = (s: string) => new Set(s.split(' '));
  assert.equal(openblasCoreFor(flags('sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl')), 'SkylakeX');
  // AVX-512 foundation alone is not enough for the SkylakeX kernels
  assert.equal(openblasCoreFor(flags('sse4_2 avx avx2 fma avx512f')), 'Haswell');
  assert.equal(openblasCoreFor(flags('sse4_2 avx avx2 fma')), 'Haswell');
  assert.equal(openblasCoreFor(flags('sse4_2 avx')), 'Sandybridge');
  assert.equal(openblasCoreFor(flags('sse2 sse3')), undefined);
  assert.equal(openblasCoreFor(new Set()), undefined);
});

test('a loaded addon runs the kernel family chosen from this CPU when OPENBLAS_CORETYPE is unset, and the environment is left as it was', { skip: needsAddon }, (t) => {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', `
    const { cpuFlags, loadNativeBlas, openblasCoreFor } = await import(${JSON.stringify(path.resolve('src/engine/native-blas.ts'))});
    const { blas } = loadNativeBlas('required', 1);
    console.log(JSON.stringify({ core: blas.info().core, expected: openblasCoreFor(cpuFlags()) ?? null, env: process.env.OPENBLAS_CORETYPE ?? null }));
  `], { encoding: 'utf8', env });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { core: string; expected: string | null; env: string | null };
  assert.equal(r.env, null, 'OPENBLAS_CORETYPE is not left set for child processes');
  if (r.expected === null) return t.skip('no feature rule matches this CPU: OpenBLAS chose its kernels on its own');
  assert.equal(r.core.toLowerCase(), r.expected.toLowerCase(), `OpenBLAS runs the ${r.expected} kernels it was told to`);
});
