// Engine benchmark: learner-step and KV-cache generation tokens/s against PyTorch eager in the same job.
// Run: npm run bench:engine            (sizes S and M)
//      npm run bench:engine -- --quick (S only, fewer iterations)
//      npm run bench:engine -- --threads 1  (CPU threads for both sides; default 2 = this machine's cores:
//                                            RLMESH_WASM_THREADS for rlmesh, torch.set_num_threads for PyTorch)
//      npm run bench:engine -- --gen-threads 2  (rlmesh generation threads; default 1, see GEN_THREADS)
// rlmesh's learner and generation parts each run in a child process (a wasm backend starts once per process).
//      RLMESH_BACKEND=webgpu npm run bench:engine   (GPU host; torch_ref.py then uses CUDA if present)
//      npm run bench:engine -- --profile [--rows 16]  (where one learner step's time goes, per wasm kernel and phase;
//                                                     no PyTorch; --rows shortens the step)
//      RLMESH_NATIVE_BLAS=0 npm run bench:engine     (products on XNNPACK even when the OpenBLAS addon is built)
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { backendInfo, generate, initBackend } from '../src/engine/index.ts';
import { MODEL_SIZES, learnerStepBench } from './model-sizes.ts';
import { cpuModel, gitCommit } from './pipeline/actors.ts';
import type { ModelSize as Size } from './model-sizes.ts';

interface Figures { name: string; learner_step_s: number; learner_tokens_per_s: number; generate_s: number; generate_tokens_per_s: number; peak_mb: number; peak_rss_mb: number }

// ---- settings ----
const quick = process.argv.includes('--quick');
const threadsArg = process.argv.indexOf('--threads');
/** CPU threads for both engines: the comparison is per machine, not per core. */
const THREADS = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : Number(process.env.RLMESH_WASM_THREADS ?? 2);
process.env.RLMESH_WASM_THREADS = String(THREADS);
const genThreadsArg = process.argv.indexOf('--gen-threads');
/**
 * Threads for rlmesh generation (default 1): decoding runs many tiny products, and waking a thread pool for each
 * costs more than it saves (measured: S generation 1173 tok/s with 1 thread, 145 with 2). Rollout workers run one
 * thread each and scale by process; the learner and teacher use RLMESH_WASM_THREADS.
 */
const GEN_THREADS = genThreadsArg > 0 ? Number(process.argv[genThreadsArg + 1]) : 1;
const profile = process.argv.includes('--profile');
const rowsArg = process.argv.indexOf('--rows');
const partArg = process.argv.indexOf('--part');
/** Set in a child process: which part to measure. */
const childPart = partArg > 0 ? (process.argv[partArg + 1] as Part) : null;
const SIZES: Size[] = [MODEL_SIZES.S, MODEL_SIZES.M].slice(0, quick ? 1 : 2);
const stepsOf = (s: Size) => (quick ? 2 : s.steps); // timed learner steps after one warm-up
const GEN_RUNS = 1; // timed generations after a short warm-up
const here = path.dirname(fileURLToPath(import.meta.url));

type Part = 'learner' | 'generate';

/** One part for one size, in this process (a child started by `rlmeshPart`). Prints a JSON line. */
function measurePart(part: Part, s: Size): Partial<Figures> {
  let peak = 0;
  const probe = () => { peak = Math.max(peak, tf.memory().numBytes); };
  // Micro-batches of `s.micro` rows (gradient accumulation) keep activations inside wasm's 4 GB memory
  // (M forward: ~0.8 GB at 4 rows, ~1.4 GB at 8; 16 rows runs out of wasm memory in the backward pass).
  const learner = learnerStepBench(s, probe);
  const out: Partial<Figures> = { name: s.name };
  if (part === 'learner') {
    learner.step(); tick();
    const t0 = performance.now();
    for (let i = 0; i < stepsOf(s); i++) { learner.step(); tick(); }
    const learn = (performance.now() - t0) / 1000 / stepsOf(s);
    Object.assign(out, { learner_step_s: learn, learner_tokens_per_s: (s.batch * s.seq) / learn });
  } else {
    const prompts = Array.from({ length: s.batch }, () => Array.from({ length: s.prompt }, learner.randomToken));
    const gen = (n: number) => generate(learner.model, prompts, { maxNewTokens: n, seed: 1, ignoreEos: true, onLogits: probe });
    gen(4); tick();
    const t0 = performance.now();
    for (let i = 0; i < GEN_RUNS; i++) { gen(s.new_tokens); tick(); }
    const genS = (performance.now() - t0) / 1000 / GEN_RUNS;
    Object.assign(out, { generate_s: genS, generate_tokens_per_s: (s.batch * s.new_tokens) / genS });
  }
  learner.dispose();
  return { ...out, peak_mb: peak / 2 ** 20, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
}

/** Child processes report progress as `tick` lines on stdout and results as one JSON line per size. */
function tick(): void {
  if (childPart) process.stdout.write('tick\n');
}

/** Runs one part for every size in a child process with `threads` wasm threads (a backend starts once per process). */
async function rlmeshPart(part: Part, threads: number, onTick: () => void): Promise<{ backend: string; sizes: Array<Partial<Figures>> }> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--part', part, '--threads', String(threads), ...(quick ? ['--quick'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RLMESH_WASM_THREADS: String(threads) } });
  const results: Array<Partial<Figures>> = [];
  let backend = '';
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'tick') onTick();
    else if (line.startsWith('{')) {
      const r = JSON.parse(line) as Partial<Figures> & { backend?: string };
      if (r.backend) backend = r.backend;
      else results.push(r);
    }
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`bench:engine ${part} child exited with ${code}`);
  return { backend, sizes: results };
}

/** /usr/bin/python3 with torch, installing Debian python3-torch + libopenblas0-pthread when missing. */
function ensureTorch(): string {
  const py = '/usr/bin/python3';
  const ok = () => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  const blas = () => spawnSync('dpkg', ['-s', 'libopenblas0-pthread'], { stdio: 'ignore' }).status === 0;
  if (!ok() || !blas()) {
    console.error('installing python3-torch and libopenblas0-pthread with apt-get ...');
    execFileSync('apt-get', ['install', '-y', 'python3-torch', 'libopenblas0-pthread'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (!ok()) throw new Error('python3 cannot import torch after installing python3-torch');
  return py;
}

function benchTorch(): Array<Figures & { torch: string; threads: number }> {
  const py = ensureTorch();
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = execFileSync(py, [path.join(here, 'torch_ref.py'), JSON.stringify({ sizes: SIZES.map((s) => ({ ...s, steps: stepsOf(s) })), gen_steps: GEN_RUNS, threads: THREADS })], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  return out.trim().split('\n').map((l) => {
    const r = JSON.parse(l);
    return { ...r, peak_mb: r.peak_rss_mb };
  });
}

/** The commit measured, `+dirty` when the engine's code differs from it. */
const commit = (): string => gitCommit(['src/engine', 'native', 'bench/engine.ts', 'bench/torch_ref.py']);

interface KernelTime { ms: number; calls: number; flop: number }
type Phase = 'forward' | 'backward' | 'update';
const PHASES: Phase[] = ['forward', 'backward', 'update'];

/**
 * Wraps every wasm kernel with a wall-clock timer (wasm kernels are synchronous, so the time around the call is
 * the kernel's). Phase: tfjs runs a gradient's forward pass in a scope named 'forward' and backpropagation in one
 * named 'backward'; the rest of a step (summing micro-batch gradients, AdamW) is 'update'.
 */
function timeKernels(): { table: Map<string, Record<Phase, KernelTime>>; on: (v: boolean) => void } {
  const table = new Map<string, Record<Phase, KernelTime>>();
  let recording = false;
  const scopes = () => (tf.engine().state as unknown as { scopeStack: Array<{ name: string }> }).scopeStack;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const run = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ kernelName: k.kernelName, backendName: 'wasm', kernelFunc: (args) => {
      if (!recording) return run(args);
      const t0 = performance.now();
      const out = run(args);
      const ms = performance.now() - t0;
      let key = k.kernelName, flop = 0;
      if (k.kernelName === 'BatchMatMul') {
        const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
        const { transposeB: tb } = args.attrs as { transposeB: boolean }; // a's two dims multiply either way
        const ra = a.shape.length, rb = b.shape.length, batch = Math.max(tf.util.sizeFromShape(a.shape.slice(0, -2)), tf.util.sizeFromShape(b.shape.slice(0, -2)));
        flop = 2 * batch * a.shape[ra - 1]! * a.shape[ra - 2]! * (tb ? b.shape[rb - 2]! : b.shape[rb - 1]!);
        key = `BatchMatMul ${batch > 1 ? 'batched (attention)' : '2-D (projections)'}`;
      } else if (k.kernelName === 'Transpose') key = `Transpose rank ${(args.inputs as { x: tf.TensorInfo }).x.shape.length}`;
      const names = scopes().map((sc) => sc.name);
      const phase: Phase = names.includes('backward') ? 'backward' : names.includes('forward') ? 'forward' : 'update';
      const row = table.get(key) ?? { forward: { ms: 0, calls: 0, flop: 0 }, backward: { ms: 0, calls: 0, flop: 0 }, update: { ms: 0, calls: 0, flop: 0 } };
      row[phase].ms += ms; row[phase].calls++; row[phase].flop += flop;
      table.set(key, row);
      return out;
    } });
  }
  return { table, on: (v) => { recording = v; } };
}

/** `--profile`: one learner step per size with every kernel timed; prints a markdown table per size. */
async function profileSteps(): Promise<void> {
  const name = await initBackend();
  if (name !== 'wasm') throw new Error(`bench:engine --profile times wasm kernels; the backend is ${name}`);
  const timer = timeKernels();
  const f = (ms: number) => (ms / 1000).toFixed(2);
  const out: string[] = [`backend wasm (${backendInfo()?.detail}); CPU ${cpuModel()}; 1-min load average ${os.loadavg()[0]!.toFixed(1)} at start; commit ${commit()}`];
  for (const s of SIZES) {
    const rows = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : s.batch;
    if (!(rows > 0 && rows % s.micro === 0)) throw new Error(`--rows ${rows}: must be a multiple of ${s.name}'s micro-batch (${s.micro} rows)`);
    const bench = learnerStepBench({ ...s, batch: rows });
    bench.step(); // warm-up
    timer.table.clear();
    timer.on(true);
    const t0 = performance.now();
    bench.step();
    const wall = performance.now() - t0;
    timer.on(false);
    bench.dispose();
    const total = (r: Record<Phase, KernelTime>) => PHASES.reduce((x, p) => x + r[p].ms, 0);
    const rowsSorted = [...timer.table.entries()].sort((x, y) => total(y[1]) - total(x[1]));
    const inKernels = rowsSorted.reduce((x, [, r]) => x + total(r), 0);
    const byPhase = PHASES.map((p) => `${p} ${f(rowsSorted.reduce((x, [, r]) => x + r[p].ms, 0))} s`).join(', ');
    out.push('', `${s.name}: one learner step on ${rows} rows x ${s.seq} tokens (micro-batches of ${s.micro}): ${f(wall)} s wall; kernels ${f(inKernels)} s (${byPhase}); outside kernels (op dispatch, tape, JS) ${f(wall - inKernels)} s`, '',
      '| kernel | forward s | backward s | update s | share of step | calls | GFLOP/s |', '|---|---|---|---|---|---|---|');
    const shown = rowsSorted.filter(([, r]) => total(r) >= 0.005 * wall);
    for (const [key, r] of shown) {
      const flop = PHASES.reduce((x, p) => x + r[p].flop, 0);
      out.push(`| ${key} | ${f(r.forward.ms)} | ${f(r.backward.ms)} | ${f(r.update.ms)} | ${(100 * total(r) / wall).toFixed(1)}% | ${PHASES.reduce((x, p) => x + r[p].calls, 0)} | ${flop ? (flop / total(r) / 1e6).toFixed(1) : ''} |`);
    }
    const rest = rowsSorted.slice(shown.length).reduce((x, [, r]) => x + total(r), 0);
    out.push(`| ${rowsSorted.length - shown.length} other kernels | | | | ${(100 * rest / wall).toFixed(1)}% | | |`);
  }
  console.log(out.join('\n'));
}

if (profile) {
  await profileSteps();
  process.exit(0);
}

if (childPart) {
  const name = await initBackend();
  console.log(JSON.stringify({ backend: `${name} (${backendInfo()?.detail})` }));
  for (const s of SIZES) console.log(JSON.stringify(measurePart(childPart, s)));
  process.exit(0);
}

const load0 = os.loadavg()[0]!;
const bar = new cliProgress.SingleBar({ format: 'bench:engine [{bar}] {value}/{total} {phase}', stream: process.stderr }, cliProgress.Presets.shades_classic);
bar.start(SIZES.reduce((n, s) => n + stepsOf(s) + 2 + GEN_RUNS, 0) + 1, 0, { phase: 'rlmesh learner' });
const learnerFigures = await rlmeshPart('learner', THREADS, () => bar.increment());
bar.update({ phase: 'rlmesh generate' });
const generateFigures = await rlmeshPart('generate', GEN_THREADS, () => bar.increment());
const ours = SIZES.map((s, i): Figures => {
  const l = learnerFigures.sizes[i]!, g = generateFigures.sizes[i]!;
  if (l.name !== s.name || g.name !== s.name) throw new Error(`bench:engine: child results out of order for ${s.name}`);
  return { ...l, ...g, peak_mb: Math.max(l.peak_mb!, g.peak_mb!), peak_rss_mb: Math.max(l.peak_rss_mb!, g.peak_rss_mb!) } as Figures;
});
bar.update({ phase: 'pytorch' });
const ref = benchTorch();
bar.increment();
bar.stop();
const backend = `learner ${learnerFigures.backend}, generation ${generateFigures.backend}`;

const f = (x: number, d = 0) => x.toFixed(d);
const lines = [
  `| size | learner tok/s rlmesh | PyTorch | ratio | generate tok/s rlmesh | PyTorch | ratio | peak MB rlmesh (tf.memory / RSS) | PyTorch RSS MB |`,
  `|---|---|---|---|---|---|---|---|---|`,
  ...ours.map((o, i) => {
    const r = ref[i]!;
    return `| ${o.name} | ${f(o.learner_tokens_per_s)} | ${f(r.learner_tokens_per_s)} | ${f(o.learner_tokens_per_s / r.learner_tokens_per_s, 3)} | ${f(o.generate_tokens_per_s)} | ${f(r.generate_tokens_per_s)} | ${f(o.generate_tokens_per_s / r.generate_tokens_per_s, 3)} | ${f(o.peak_mb)} / ${f(o.peak_rss_mb)} | ${f(r.peak_rss_mb)} |`;
  }),
];
const header = `## ${new Date().toISOString()} commit ${commit()}${quick ? ' (--quick)' : ''}${process.env.OPENBLAS_CORETYPE ? ` (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} set by the caller)` : ''}\n\nbackend ${backend}; CPU ${cpuModel()}; 1-min load average ${load0.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end; PyTorch ${ref[0]?.torch} eager, ${ref[0]?.threads} threads; learner step = forward + backward + AdamW (clip 1.0) on mean token log-prob (rlmesh: micro-batches ${SIZES.map((s) => `${s.name} ${s.micro}`).join(', ')} rows, PyTorch: whole batch); generation = ${SIZES[0]!.prompt}-token prompts + ${SIZES[0]!.new_tokens} new tokens with a KV cache; timed learner steps ${SIZES.map((s) => `${s.name} ${stepsOf(s)}`).join(', ')}.\n`;
const text = `${header}\n${lines.join('\n')}\n`;
console.log(text);
const results = path.join(here, 'RESULTS.md');
if (!existsSync(results)) writeFileSync(results, '# bench:engine results (appended by `npm run bench:engine`)\n\n');
appendFileSync(results, `${text}\n`);
