// Faster kernels for the wasm backend, installed once after it starts.
//
// BatchMatMul: tfjs-backend-wasm sends a product to XNNPACK only when both operands have batch 1 and no
// transpose flag; every batched product (attention's q·kᵀ and p·v, forward and backward) runs a generic
// loop 4-10x slower (PERF-NOTES.md, "batched products"). The override below runs a batched product as one
// XNNPACK product per batch entry, on views of the operands' wasm memory: no copies, same results bit for
// bit. A transposed operand is copied transposed first (the stock kernel's transposed path is a slow generic loop);
// broadcast batch dimensions and empty tensors keep the stock kernel.
//
// SplitV and rank-2 Transpose: the stock kernels walk every element through generic index arithmetic
// (a [4096, 1024] split took longer than the product that made it). Here a split is one memmove per row and
// a transpose is a cache-blocked copy, both straight on the wasm heap. Other dtypes and ranks keep the stock kernels.
// Identity shares memory instead of copying it.
//
// With the optional OpenBLAS addon (native-blas.ts, `useNativeBlas`), every float32 product goes to OpenBLAS
// instead, on the same heap views; the XNNPACK path above serves whatever it declines.
import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from './native-blas.ts';
import { nativeBatchMatMul } from './native-blas.ts';

/** The parts of tfjs-backend-wasm's BackendWasm this file uses (not in its public typings). */
export interface WasmBackendInternals {
  dataIdNextNumber: number;
  readonly wasm: WasmModule;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: object): void;
  disposeData(dataId: object): boolean;
}
interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

export interface BatchMatMulAttrs { transposeA: boolean; transposeB: boolean }
interface SplitVAttrs { numOrSizeSplits: number | number[]; axis: number | number[] }
interface TransposeAttrs { perm: number[] }

const F32 = 4;
let installed = false;
/** The XNNPACK BatchMatMul (set by installWasmKernels) and, when the addon is in use, the OpenBLAS one over it. */
let xnnpackProducts: tf.KernelFunc | null = null;
let nativeProducts: tf.KernelFunc | null = null;

/** Whether the override is in place (the backend log and tests read it). */
export function wasmKernelsInstalled(): boolean {
  return installed;
}

/** What runs float32 products on wasm now. */
export function wasmProducts(): 'openblas' | 'xnnpack' | 'stock' {
  return nativeProducts ? 'openblas' : installed ? 'xnnpack' : 'stock';
}

/**
 * Sends every float32 BatchMatMul to OpenBLAS (`blas`), or back to XNNPACK (`null`). Takes effect for the next
 * product; call after installWasmKernels.
 */
export function useNativeBlas(blas: NativeBlas | null): void {
  if (!installed || !xnnpackProducts) throw new Error('useNativeBlas: call installWasmKernels first (on the wasm backend)');
  nativeProducts = blas ? nativeBatchMatMul(blas, xnnpackProducts) : null;
}

/** Shape [1, rows, cols] as the byte array the C kernel reads. */
function shapeBytes(rows: number, cols: number): Uint8Array {
  return new Uint8Array(new Int32Array([1, rows, cols]).buffer);
}

/**
 * Replaces the wasm BatchMatMul kernel with one that splits batched products into batch-1 XNNPACK calls.
 * Call after `tf.setBackend('wasm')`; a no-op when called again or on another backend.
 */
export function installWasmKernels(): void {
  if (installed || tf.getBackend() !== 'wasm') return;
  override('BatchMatMul', (stock) => {
    const xnnpack = (xnnpackProducts = batchMatMulKernel(stock));
    return (args) => (nativeProducts ?? xnnpack)(args);
  });
  override('SplitV', splitVKernel);
  override('Transpose', transposeKernel);
  override('Identity', identityKernel);
  installed = true;
}

/** Registers `make(stock)` in place of the wasm kernel `name`; `stock` serves what the override does not take. */
function override(name: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(stock.kernelFunc) });
}

function batchMatMulKernel(stock: tf.KernelFunc): tf.KernelFunc {
  let product: ((...args: unknown[]) => void) | null = null;

  const kernel: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    if ((transposeA || transposeB) && a.dtype === 'float32' && b.dtype === 'float32') {
      // The stock kernel walks a transposed operand through its generic loop (~15x slower than the product itself):
      // the operand is copied transposed (the Transpose kernel: cache-blocked at rank 2) and the plain path runs.
      const copies: tf.TensorInfo[] = [];
      const plainOperand = (x: tf.TensorInfo, transposed: boolean): tf.TensorInfo => {
        if (!transposed) return x;
        const copy = swapLastTwo(x, args.backend);
        copies.push(copy);
        return copy;
      };
      try {
        return kernel({ ...args, inputs: { a: plainOperand(a, transposeA), b: plainOperand(b, transposeB) }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        for (const c of copies) backend.disposeData(c.dataId);
      }
    }
    const ra = a.shape.length, rb = b.shape.length;
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const M = a.shape[ra - 2]!, K = a.shape[ra - 1]!, N = b.shape[rb - 1]!;
    const batch = Math.max(batchA, batchB);
    const plain = !transposeA && !transposeB && a.dtype === 'float32' && b.dtype === 'float32' && ra === rb && ra >= 3;
    const sameBatchDims = a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
    if (!plain || batch <= 1 || !sameBatchDims || b.shape[rb - 2] !== K || M * K * N === 0) return stock(args);

    product ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    const outShape = [...a.shape.slice(0, -2), M, N];
    const out = backend.makeOutput(outShape, 'float32');
    const offA = backend.dataIdMap.get(a.dataId).memoryOffset;
    const offB = backend.dataIdMap.get(b.dataId).memoryOffset;
    const offO = backend.dataIdMap.get(out.dataId).memoryOffset;
    const sa = shapeBytes(M, K), sb = shapeBytes(K, N);
    const registry = backend.wasm.tfjs;
    for (let i = 0; i < batch; i++) {
      // Fresh ids for the views: XNNPACK caches a packed right operand per id, and disposing the id drops it.
      const ia = backend.dataIdNextNumber++, ib = backend.dataIdNextNumber++, io = backend.dataIdNextNumber++;
      registry.registerTensor(ia, M * K, offA + i * M * K * F32);
      registry.registerTensor(ib, K * N, offB + i * K * N * F32);
      registry.registerTensor(io, M * N, offO + i * M * N * F32);
      try {
        product(ia, sa, 3, ib, sb, 3, 0, 0, io);
      } finally {
        registry.disposeData(ia);
        registry.disposeData(ib);
        registry.disposeData(io);
      }
    }
    return out;
  };
  return kernel;
}

/** x with its last two dimensions swapped, by the wasm Transpose kernel (a new tensor the caller disposes). */
function swapLastTwo(x: tf.TensorInfo, backend: Parameters<tf.KernelFunc>[0]['backend']): tf.TensorInfo {
  const perm = [...x.shape.keys()];
  perm.push(...perm.splice(-2).reverse());
  return tf.getKernel('Transpose', 'wasm')!.kernelFunc({ inputs: { x }, backend, attrs: { perm } as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
}

const FOUR_BYTE: ReadonlySet<tf.DataType> = new Set<tf.DataType>(['float32', 'int32']);

function splitVKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const attrs = args.attrs as unknown as SplitVAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    if (!FOUR_BYTE.has(x.dtype) || x.shape.length === 0) return stock(args);
    const rank = x.shape.length;
    const rawAxis = Array.isArray(attrs.axis) ? attrs.axis[0]! : attrs.axis;
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const dim = x.shape[axis]!;
    const sizes = splitSizes(attrs.numOrSizeSplits, dim);
    if (!sizes) return stock(args);
    const outer = x.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    const inner = x.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
    const outs = sizes.map((n) => backend.makeOutput([...x.shape.slice(0, axis), n, ...x.shape.slice(axis + 1)], x.dtype));
    // Views after every allocation: a malloc may grow (and so replace) the heap's buffer.
    const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
    const src = backend.dataIdMap.get(x.dataId).memoryOffset / F32;
    let start = 0;
    outs.forEach((out, j) => {
      const width = sizes[j]! * inner;
      const dst = backend.dataIdMap.get(out.dataId).memoryOffset / F32;
      for (let o = 0; o < outer; o++) {
        const from = src + (o * dim + start) * inner;
        heap.copyWithin(dst + o * width, from, from + width);
      }
      start += sizes[j]!;
    });
    return outs;
  };
}

/** Split sizes along an axis of length `dim` (one -1 is inferred), or null when they do not add up. */
function splitSizes(spec: number | number[], dim: number): number[] | null {
  if (typeof spec === 'number') return spec > 0 && dim % spec === 0 ? new Array<number>(spec).fill(dim / spec) : null;
  const known = spec.filter((n) => n !== -1).reduce((p, q) => p + q, 0);
  const sizes = spec.map((n) => (n === -1 ? dim - known : n));
  return sizes.every((n) => Number.isInteger(n) && n >= 0) && sizes.reduce((p, q) => p + q, 0) === dim ? sizes : null;
}

/**
 * Identity shares the input's memory (one more reference, as the stock Reshape does) instead of copying it. tfjs
 * clones every tensor a gradient saves for the backward pass, so the stock copy ran hundreds of times per step
 * (7.5% of an S learner step once the products were on OpenBLAS). Tensors are never written in place.
 */
function identityKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return stock(args);
    (args.backend as unknown as WasmBackendInternals).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

const BLOCK = 64;

function transposeKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as TransposeAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    if (!FOUR_BYTE.has(x.dtype) || x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return stock(args);
    const [R, C] = x.shape as [number, number];
    const out = backend.makeOutput([C, R], x.dtype);
    const heap = new Int32Array(backend.wasm.HEAPU8.buffer); // moves the four bytes as integers: float bits stay exact
    const src = backend.dataIdMap.get(x.dataId).memoryOffset / F32;
    const dst = backend.dataIdMap.get(out.dataId).memoryOffset / F32;
    // Blocked, writing each output row contiguously (faster than contiguous reads on this machine: 25 vs 50 ms
    // for [4096, 1024]; the stock kernel took 170 ms).
    for (let j0 = 0; j0 < C; j0 += BLOCK) {
      const j1 = Math.min(j0 + BLOCK, C);
      for (let i0 = 0; i0 < R; i0 += BLOCK) {
        const i1 = Math.min(i0 + BLOCK, R);
        for (let j = j0; j < j1; j++) {
          const o = dst + j * R;
          for (let i = i0; i < i1; i++) heap[o + i] = heap[src + i * C + j]!;
        }
      }
    }
    return out;
  };
}
