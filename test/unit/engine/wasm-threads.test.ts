// RLMESH_WASM_THREADS: the threaded wasm build starts under Node with the asked thread count, and products,
// batched products and a training step give bit-identical results with 1 and 2 threads (each in its own process:
// a backend starts once per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const probe = path.join(import.meta.dirname, 'wasm-threads-probe.ts');

function run(threads: string): { log: string; threads: number; product: string; batched: string; logits: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe], {
    env: { ...process.env, RLMESH_WASM_THREADS: threads, RLMESH_BACKEND: '' }, encoding: 'utf8', timeout: 120_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

test('1 and 2 wasm threads: the asked count starts, is logged, and results are bit-identical', () => {
  const one = run('1'), two = run('2');
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.match(one.log, /wasm \(1 thread, SIMD/);
  assert.match(two.log, /wasm \(2 threads, SIMD/);
  assert.equal(two.product, one.product);
  assert.equal(two.batched, one.batched);
  assert.equal(two.logits, one.logits);
});

test('a bad RLMESH_WASM_THREADS is refused by name instead of falling back to another backend', () => {
  assert.throws(() => run('0'), (e: Error & { stderr?: string }) => /RLMESH_WASM_THREADS: must be an integer in \[1, 64\], got '0'/.test(String(e.stderr)));
});
