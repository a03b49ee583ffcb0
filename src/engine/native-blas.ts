// Optional OpenBLAS products for the wasm backend: a Node addon (native/blas, built by `npm run build:native`)
// runs cblas_sgemm straight on the wasm heap, so a product reads its operands and writes its result where tfjs
// keeps them, with no copies. The wasm products are the learner's wall (bench/RESULTS.md, "where the M step's
// time goes"); Debian's OpenBLAS runs them several times faster than XNNPACK in 128-bit wasm SIMD.
//
// RLMESH_NATIVE_BLAS: unset = use the addon when it is built, `0` = never, `1` = required (fail when missing).
// RLMESH_BLAS_THREADS: OpenBLAS threads (1..64), default RLMESH_WASM_THREADS (default 1).
// OPENBLAS_CORETYPE: when unset, set from the CPU's feature flags while the addon loads (see openblasCoreFor).
// Without the addon everything stays on XNNPACK (src/engine/wasm-kernels.ts), and only the backend line says so.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { ErrorCategory, RlmeshError, invalidField } from '../errors.ts';
import type { BatchMatMulAttrs, WasmBackendInternals } from './wasm-kernels.ts';
import { wasmThreadsFromEnv } from './wasm-threads.ts';

/** The addon's surface (native/blas/blas.c). */
export interface NativeBlas {
  /** C = op(A)·op(B) for each (a, b, c) element-offset triple into `heap`; row-major, contiguous operands. */
  sgemmBatch(heap: Float32Array, transA: boolean, transB: boolean, M: number, N: number, K: number, offsets: Int32Array): void;
  setThreads(n: number): void;
  info(): { threads: number; core: string; config: string };
}

export const NATIVE_BLAS_MODES = ['auto', 'off', 'required'] as const;
export type NativeBlasMode = (typeof NATIVE_BLAS_MODES)[number];

/** Where `npm run build:native` puts the addon. */
export const NATIVE_BLAS_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native/blas/build/Release/rlmesh_blas.node');

/** RLMESH_NATIVE_BLAS: unset/empty = auto, `0` = off, `1` = required. */
export function nativeBlasModeFromEnv(env: NodeJS.ProcessEnv = process.env): NativeBlasMode {
  const raw = env.RLMESH_NATIVE_BLAS;
  if (raw === undefined || raw === '') return 'auto';
  if (raw === '0') return 'off';
  if (raw === '1') return 'required';
  throw invalidField('RLMESH_NATIVE_BLAS', `must be 0 (off) or 1 (required), or unset (use when built); got '${raw}'`);
}

/** RLMESH_BLAS_THREADS (1..64), default RLMESH_WASM_THREADS. */
export function blasThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RLMESH_BLAS_THREADS;
  if (raw === undefined || raw === '') return wasmThreadsFromEnv(env);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw invalidField('RLMESH_BLAS_THREADS', `must be an integer in [1, 64], got '${raw}'`);
  return n;
}

/**
 * The OpenBLAS kernel family these CPU feature flags (as /proc/cpuinfo lists them) can run, or undefined for
 * OpenBLAS's own choice. OpenBLAS's DYNAMIC_ARCH picks kernels by CPU model number and falls back to its SSE3
 * kernels (`Prescott`) for a model it does not know, which is what virtual machines that report a generic
 * "Intel Xeon Processor" get: several times slower products on a CPU with AVX-512. The choice by features applies
 * to every CPU, also ones OpenBLAS knows: it is always safe (the kernels need only those instructions), and for the
 * known ones it names the sgemm kernels OpenBLAS would use anyway (Cooperlake and Zen run the SkylakeX and Haswell
 * kernels). Set OPENBLAS_CORETYPE to keep OpenBLAS's own choice.
 */
export function openblasCoreFor(flags: ReadonlySet<string>): string | undefined {
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f))) return 'SkylakeX';
  if (['avx2', 'fma'].every((f) => flags.has(f))) return 'Haswell';
  if (flags.has('avx')) return 'Sandybridge';
  return undefined;
}

/** The feature flags of the first CPU in /proc/cpuinfo (empty elsewhere). */
export function cpuFlags(): Set<string> {
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return new Set(line?.[1]!.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

export interface NativeBlasLoad {
  /** The addon, or null when it is off or could not load. */
  blas: NativeBlas | null;
  /** For the backend line: what runs the products and why. */
  detail: string;
}

/**
 * Loads the addon per `mode` and sets its thread count. `auto` returns `blas: null` when the addon is missing
 * or fails to load (say, OpenBLAS was removed after the build); `required` throws instead.
 */
export function loadNativeBlas(mode: NativeBlasMode, threads: number, file: string = NATIVE_BLAS_PATH): NativeBlasLoad {
  if (mode === 'off') return { blas: null, detail: 'batched products on XNNPACK (RLMESH_NATIVE_BLAS=0)' };
  if (mode === 'auto' && !existsSync(file)) return { blas: null, detail: 'batched products on XNNPACK' };
  let blas: NativeBlas;
  try {
    blas = withCoreType(() => createRequire(import.meta.url)(file) as NativeBlas);
  } catch (e) {
    if (mode === 'required') {
      throw new RlmeshError(ErrorCategory.engine, `RLMESH_NATIVE_BLAS=1 but the OpenBLAS addon did not load from ${file} (build it: npm run build:native): ${firstLine(e)}`, { field: 'RLMESH_NATIVE_BLAS', cause: e });
    }
    return { blas: null, detail: `batched products on XNNPACK (the OpenBLAS addon did not load: ${firstLine(e)})` };
  }
  blas.setThreads(threads);
  const { core, threads: got } = blas.info();
  return { blas, detail: `batched products on OpenBLAS (${core}, ${got} thread${got === 1 ? '' : 's'})` };
}

/**
 * Runs `load` (the addon's first load, when OpenBLAS reads OPENBLAS_CORETYPE) with the kernel family of this CPU
 * (openblasCoreFor) unless the user set one; the environment is restored after, so child processes (actors,
 * a PyTorch reference) inherit what the user had.
 */
function withCoreType<T>(load: () => T): T {
  const own = process.env.OPENBLAS_CORETYPE;
  const core = own ? undefined : openblasCoreFor(cpuFlags());
  if (!core) return load();
  process.env.OPENBLAS_CORETYPE = core;
  try {
    return load();
  } finally {
    if (own === undefined) delete process.env.OPENBLAS_CORETYPE;
    else process.env.OPENBLAS_CORETYPE = own;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Product count and offsets of a broadcast batch: row i of the result uses a[ia[i]] and b[ib[i]]. */
export function broadcastBatch(aOuter: readonly number[], bOuter: readonly number[]): { outer: number[]; ia: number[]; ib: number[] } | null {
  const rank = Math.max(aOuter.length, bOuter.length);
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const A = pad(aOuter), B = pad(bOuter);
  const outer: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (A[d] !== B[d] && A[d] !== 1 && B[d] !== 1) return null;
    outer.push(Math.max(A[d]!, B[d]!));
  }
  const total = outer.reduce((x, y) => x * y, 1);
  const ia: number[] = [], ib: number[] = [];
  for (let i = 0; i < total; i++) {
    let rest = i, ja = 0, jb = 0, sa = 1, sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const k = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      if (A[d] !== 1) ja += k * sa;
      if (B[d] !== 1) jb += k * sb;
      sa *= A[d]!;
      sb *= B[d]!;
    }
    ia.push(ja);
    ib.push(jb);
  }
  return { outer, ia, ib };
}

const F32 = 4;

/**
 * BatchMatMul on OpenBLAS for every float32 product (any transpose flags, broadcast batch dimensions, batch 1);
 * empty products and other dtypes go to `fallback`.
 */
export function nativeBatchMatMul(blas: NativeBlas, fallback: tf.KernelFunc): tf.KernelFunc {
  let view: Float32Array | null = null;
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    const ra = a.shape.length, rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!, K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!, N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const batch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2 || K !== Kb || !batch || M * N * K === 0) return fallback(args);

    const out = backend.makeOutput([...batch.outer, M, N], 'float32');
    // The view after the allocation: a malloc may grow the memory and replace its buffer.
    const buffer = backend.wasm.HEAPU8.buffer;
    if (view?.buffer !== buffer) view = new Float32Array(buffer);
    const offA = backend.dataIdMap.get(a.dataId).memoryOffset / F32;
    const offB = backend.dataIdMap.get(b.dataId).memoryOffset / F32;
    const offC = backend.dataIdMap.get(out.dataId).memoryOffset / F32;
    const n = batch.ia.length;
    const offsets = new Int32Array(3 * n);
    for (let i = 0; i < n; i++) {
      offsets[3 * i] = offA + batch.ia[i]! * M * K;
      offsets[3 * i + 1] = offB + batch.ib[i]! * K * N;
      offsets[3 * i + 2] = offC + i * M * N;
    }
    blas.sgemmBatch(view, transposeA, transposeB, M, N, K, offsets);
    return out;
  };
}
