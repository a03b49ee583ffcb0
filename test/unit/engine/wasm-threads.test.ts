// RLMESH_WASM_THREADS: the threaded wasm build starts under Node with the asked thread count, and products,
// batched products and a training step give the same results with 1 and 2 threads (each in its own process: a
// backend starts once per process). Bit for bit on the wasm kernels; with the OpenBLAS addon, within float32
// rounding: OpenBLAS's threaded products need not sum in the single-threaded order (seen with its Haswell kernels on
// an AMD EPYC VM: a [300, 200] x [200, 150] product differed in the last bits, 5e-7 of its largest value, while the
// batched product and the model's logits stayed bit-identical).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const probe = path.join(import.meta.dirname, 'wasm-threads-probe.ts');
const RESULTS = ['product', 'batched', 'logits'] as const;

interface ProbeOutput { log: string; threads: number; product: string; batched: string; logits: string }

function run(threads: string, env: Record<string, string> = {}): ProbeOutput {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe], {
    env: { ...process.env, RLMESH_WASM_THREADS: threads, RLMESH_BACKEND: '', ...env }, encoding: 'utf8', timeout: 120_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const floats = (b64: string) => new Float32Array(new Uint8Array(Buffer.from(b64, 'base64')).buffer);

/** Largest |x - y| relative to the largest |x| of the result. */
function relativeDiff(x: Float32Array, y: Float32Array): number {
  assert.equal(x.length, y.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(x[i]!));
  }
  return diff / scale;
}

function assertStarted(one: ProbeOutput, two: ProbeOutput): void {
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.match(one.log, /wasm \(1 thread, SIMD/);
  assert.match(two.log, /wasm \(2 threads, SIMD/);
}

test('1 and 2 wasm threads on the wasm kernels (no OpenBLAS): the asked count starts, is logged, and results are bit-identical', () => {
  const one = run('1', { RLMESH_NATIVE_BLAS: '0' }), two = run('2', { RLMESH_NATIVE_BLAS: '0' });
  assertStarted(one, two);
  for (const r of RESULTS) assert.equal(two[r], one[r], r);
});

test('1 and 2 threads as configured (the OpenBLAS addon when built): results agree to float32 rounding, bit for bit without the addon', (t) => {
  const one = run('1'), two = run('2');
  assertStarted(one, two);
  const openblas = /OpenBLAS/.test(one.log);
  for (const r of RESULTS) {
    if (!openblas) assert.equal(two[r], one[r], r);
    const d = relativeDiff(floats(one[r]), floats(two[r]));
    assert.ok(d <= 1e-6, `${r}: 1 vs 2 threads differ by ${d} of the largest value`);
    if (two[r] !== one[r]) t.diagnostic(`${r}: not bit-identical on ${one.log.replace(/^.*OpenBLAS \((\w+).*$/, '$1')} kernels, largest difference ${d.toExponential(2)} of the largest value`);
  }
});

test('a bad RLMESH_WASM_THREADS is refused by name instead of falling back to another backend', () => {
  assert.throws(() => run('0'), (e: Error & { stderr?: string }) => /RLMESH_WASM_THREADS: must be an integer in \[1, 64\], got '0'/.test(String(e.stderr)));
});
