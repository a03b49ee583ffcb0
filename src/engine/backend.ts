// TensorFlow.js backend selection: webgpu (Dawn), tensorflow (tfjs-node[-gpu]), wasm (CPU default), cpu.
import * as tf from '@tensorflow/tfjs';
import { RlmeshError, ErrorCategory, invalidField } from '../errors.ts';
import { blasThreadsFromEnv, loadNativeBlas, nativeBlasModeFromEnv, type NativeBlasMode } from './native-blas.ts';
import { installWasmKernels, useNativeBlas } from './wasm-kernels.ts';
import { prepareWasmThreads, unrefWasmThreads, wasmThreadsFromEnv, withCpuCountFor } from './wasm-threads.ts';

export const BACKENDS = ['webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo { name: BackendName; detail: string }

let current: BackendInfo | null = null;

/** A chosen backend failed to start; the error names the setting that caused it (RLMESH_BACKEND unless the cause names one). */
function unavailable(name: BackendName, why: unknown): RlmeshError {
  const reason = why instanceof Error ? why.message : String(why);
  const field = why instanceof RlmeshError && why.field ? why.field : 'RLMESH_BACKEND';
  return new RlmeshError(ErrorCategory.engine, `backend '${name}' is unavailable: ${reason}`, { field, cause: why });
}

/** Dawn through the `webgpu` package; the device gets every limit the adapter offers. */
async function initWebgpu(): Promise<string> {
  const pkg = 'webgpu';
  const { create, globals } = (await import(pkg)) as { create: (o: string[]) => GPU; globals: object };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter (is a Vulkan driver installed?)');
  const info = adapter.info;
  if (adapter.isFallbackAdapter || /swiftshader|llvmpipe|cpu/i.test(`${info.vendor} ${info.architecture} ${info.description}`)) {
    throw new Error(`only a software adapter is present (${info.vendor} ${info.description})`);
  }
  const limits: Record<string, number> = {};
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const device = await adapter.requestDevice({ requiredLimits: limits });
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, info), 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend(webgpu) failed');
  return `${info.vendor} ${info.architecture} ${info.description}`.trim();
}

/** tfjs-node-gpu, then tfjs-node, when the user installed one (they register the `tensorflow` backend). */
async function initTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return pkg;
      errors.push(`${pkg}: setBackend failed`);
    } catch (e) {
      errors.push(`${pkg}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

/** The wasm backend's settings, read from the environment once (a bad value is refused naming it). */
interface WasmSettings {
  threads: number;
  blas: NativeBlasMode;
  blasThreads: number;
}

function wasmSettingsFromEnv(): WasmSettings {
  return { threads: wasmThreadsFromEnv(), blas: nativeBlasModeFromEnv(), blasThreads: blasThreadsFromEnv() };
}

/**
 * RLMESH_WASM_THREADS (default 1) threads; > 1 starts the threaded SIMD build (wasm-threads.ts). Products go to
 * the OpenBLAS addon when it is built (native-blas.ts: RLMESH_NATIVE_BLAS, RLMESH_BLAS_THREADS).
 */
async function initWasm({ threads, blas, blasThreads }: WasmSettings): Promise<string> {
  const products = loadNativeBlas(blas, blasThreads);
  await prepareWasmThreads(threads);
  if (!(await withCpuCountFor(threads, () => tf.setBackend('wasm')))) throw new Error('tf.setBackend(wasm) failed');
  installWasmKernels();
  useNativeBlas(products.blas);
  unrefWasmThreads(tf.backend());
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const got = wasm.getThreadsCount();
  if (got !== threads) throw new Error(`asked for ${threads} wasm threads (RLMESH_WASM_THREADS), the module started ${got}`);
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'SIMD' : 'no SIMD';
  return `${threads} thread${threads === 1 ? '' : 's'}, ${simd}; ${products.detail}`;
}

async function initCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend(cpu) failed');
  return 'plain JavaScript kernels';
}

/**
 * Picks a backend: `RLMESH_BACKEND` (or `preferred`) forces one and fails clearly when it is unavailable;
 * otherwise tries tensorflow, then wasm, then cpu (webgpu only when asked for: Dawn on a CPU-only host
 * has no adapter). Logs the choice once and returns its name.
 */
export async function initBackend(preferred?: string, log: (line: string) => void = (l) => console.error(l)): Promise<BackendName> {
  const asked = process.env.RLMESH_BACKEND || preferred;
  if (current && (!asked || asked === current.name)) return current.name;
  if (asked && !(BACKENDS as readonly string[]).includes(asked)) {
    throw invalidField('RLMESH_BACKEND', `unknown backend '${asked}'; choose one of ${BACKENDS.join(', ')}`);
  }
  // Read once, before any backend starts: a bad value fails here, never as a silent fall-back to another backend.
  const wasm = wasmSettingsFromEnv();
  // The OpenBLAS products exist only on wasm: RLMESH_NATIVE_BLAS=1 chooses it (and conflicts with another choice).
  if (wasm.blas === 'required' && asked && asked !== 'wasm') {
    throw invalidField('RLMESH_NATIVE_BLAS', `=1 needs the wasm backend; RLMESH_BACKEND is '${asked}'`);
  }
  const forced = (asked as BackendName | undefined) ?? (wasm.blas === 'required' ? 'wasm' : undefined);
  const init: Record<BackendName, () => Promise<string>> = { webgpu: initWebgpu, tensorflow: initTensorflow, wasm: () => initWasm(wasm), cpu: initCpu };
  const order: BackendName[] = forced ? [forced] : ['tensorflow', 'wasm', 'cpu'];
  const failures: string[] = [];
  for (const name of order) {
    try {
      const detail = await init[name]();
      await tf.ready();
      current = { name, detail };
      log(`rlmesh engine backend: ${name} (${detail})`);
      return name;
    } catch (e) {
      if (forced) throw unavailable(name, e);
      failures.push(`${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  throw new RlmeshError(ErrorCategory.engine, `no tfjs backend could start (${failures.join('; ')})`);
}

/** The backend chosen by initBackend, or null before it ran. */
export function backendInfo(): BackendInfo | null {
  return current;
}
