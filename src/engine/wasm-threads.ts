// Multi-threaded wasm backend under Node (RLMESH_WASM_THREADS > 1).
//
// tfjs-backend-wasm ships a threaded SIMD build (Emscripten pthreads, an XNNPACK thread pool) but only enables
// it in browsers. Three things stop it under Node, and this file works around each, touching nothing else:
//  1. the threads check (`WASM_HAS_MULTITHREAD_SUPPORT`) is false: Node has SharedArrayBuffer and
//     worker_threads, so the flag is set;
//  2. the pthread workers are created from a `blob:` URL and told to load the main script from a Blob, which
//     Node's Worker cannot do: worker_threads.Worker is wrapped so the worker script comes from a file written
//     once from the package's own worker source, and the main script is the package's glue file;
//  3. the pool is capped at half of `os.cpus().length` (a browser heuristic for hyper-threads): the count is
//     reported as twice the requested threads while the module starts.
// XNNPACK splits a product by output tiles, so results do not depend on the thread count (tested). The pool's
// workers are unreferenced once started, so a process still exits when its work is done.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { invalidField } from '../errors.ts';

const require = createRequire(import.meta.url);

/** Threads for the wasm backend: `RLMESH_WASM_THREADS` (1..64), default 1 (actors often share a machine). */
export function wasmThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RLMESH_WASM_THREADS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw invalidField('RLMESH_WASM_THREADS', `must be an integer in [1, 64], got '${raw}'`);
  return n;
}

interface WorkerModule { Worker: new (url: string | URL, options?: object) => { postMessage(msg: unknown, transfer?: unknown): void } }

/** The package's pthread worker source as a file (written once per content), and its main glue script. */
function workerFiles(): { worker: string; glue: string } {
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const glue = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The package escapes newlines the same way before it makes its Blob.
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const out = path.join(os.tmpdir(), `rlmesh-wasm-${hash}`);
  const worker = path.join(out, 'pthread-worker.cjs');
  if (!existsSync(worker)) {
    mkdirSync(out, { recursive: true });
    const tmp = `${worker}.${process.pid}`;
    writeFileSync(tmp, source);
    renameSync(tmp, worker);
  }
  return { worker, glue };
}

let patched = false;

/** Makes the next `tf.setBackend('wasm')` start the threaded build with `threads` threads. */
export async function prepareWasmThreads(threads: number): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (threads <= 1) {
    wasm.setThreadsCount(1);
    return;
  }
  if (!patched) {
    const { worker, glue } = workerFiles();
    // The default import of a built-in is its CommonJS exports object, the one the Emscripten glue require()s.
    const wt = workerThreads as unknown as WorkerModule;
    const NodeWorker = wt.Worker;
    wt.Worker = class extends NodeWorker {
      constructor(url: string | URL, options?: object) {
        super(typeof url === 'string' && url.startsWith('blob:') ? worker : url, options);
      }
      override postMessage(msg: unknown, transfer?: unknown): void {
        const m = msg as { cmd?: string; urlOrBlob?: unknown } | null;
        super.postMessage(m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string' ? { ...m, urlOrBlob: glue } : msg, transfer);
      }
    };
    patched = true;
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
}

/**
 * Lets the process exit while the pool's threads idle: Emscripten keeps a running pthread's worker referenced,
 * and the XNNPACK pool's threads run for the life of the module.
 */
export function unrefWasmThreads(backend: unknown): void {
  const pthreads = (backend as { wasm?: { PThread?: { runningWorkers?: Array<{ unref?: () => void }> } } }).wasm?.PThread;
  for (const w of pthreads?.runningWorkers ?? []) w.unref?.();
}

/** Runs `start` (which starts the wasm module) while os.cpus() reports 2 x `threads` entries. */
export async function withCpuCountFor<T>(threads: number, start: () => Promise<T>): Promise<T> {
  if (threads <= 1) return start();
  const real = os.cpus;
  os.cpus = () => {
    const cpus = real();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]!);
  };
  try {
    return await start();
  } finally {
    os.cpus = real;
  }
}
