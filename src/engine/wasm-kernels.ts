// Faster kernels for the wasm backend, installed once after it starts.
//
// BatchMatMul: tfjs-backend-wasm sends a product to XNNPACK only when both operands have batch 1 and no
// transpose flag; every batched product (attention's q·kᵀ and p·v, forward and backward) runs a generic
// loop 4-10x slower (PERF-NOTES.md, "batched products"). The override below runs a batched product as one
// XNNPACK product per batch entry, on views of the operands' wasm memory: no copies, same results bit for
// bit. Transposed operands, broadcast batch dimensions and empty tensors keep the stock kernel.
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm this file uses (not in its public typings). */
interface WasmBackendInternals {
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
}

interface BatchMatMulAttrs { transposeA: boolean; transposeB: boolean }

const F32 = 4;
let installed = false;

/** Whether the override is in place (the backend log and tests read it). */
export function wasmKernelsInstalled(): boolean {
  return installed;
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
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock) return;
  let product: ((...args: unknown[]) => void) | null = null;

  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const backend = args.backend as unknown as WasmBackendInternals;
    const ra = a.shape.length, rb = b.shape.length;
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const M = a.shape[ra - 2]!, K = a.shape[ra - 1]!, N = b.shape[rb - 1]!;
    const batch = Math.max(batchA, batchB);
    const plain = !transposeA && !transposeB && a.dtype === 'float32' && b.dtype === 'float32' && ra === rb && ra >= 3;
    const sameBatchDims = a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
    if (!plain || batch <= 1 || !sameBatchDims || b.shape[rb - 2] !== K || M * K * N === 0) return stock.kernelFunc(args);

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

  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc });
  installed = true;
}
