// Verifier throughput: arithmetic completions verified per second on one core through the library.
// Run: npm run bench:verifier   (options: --n 200000 --batch 64)
// The gRPC and NATS paths are measured in measureServicePaths() once services/verifier exists.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compileRewardOptions, listTasks, verifyBatch, verifyCompletion, type Task, type VerifyInput } from '../src/tasks/index.ts';

const TARGET_PER_CORE = 50_000;

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' }, batch: { type: 'string', default: '64' } } });
const N = Number(values.n);
const BATCH = Number(values.batch);

interface Rate {
  /** completions per CPU-second of this process (= per core; fair on a shared machine) */
  cpu: number;
  /** completions per wall-clock second */
  wall: number;
}

/** A realistic mix: 50% correct reference traces, 30% wrong answers, 10% untagged answers, 10% malformed tags. */
function completionsFor(tasks: readonly Task[]): string[] {
  return tasks.map((t, i) => {
    const r = i % 10;
    if (r < 5) return t.referenceSolution;
    if (r < 8) return t.referenceSolution.replace(/<answer>(\d+)<\/answer>/, (_m, a: string) => `<answer>${Number(a) + 1}</answer>`);
    if (r === 8) return `the answer is ${t.answer}`;
    return `<think>${t.prompt}<answer>${t.answer}</answer>`;
  });
}

function timed(count: number, fn: () => void): Rate {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall: (count / wallMs) * 1000, cpu: (count / ((c.user + c.system) / 1000)) * 1000 };
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Library path, tasks resolved: the cost of grading alone. */
function measureLibrary(tasks: readonly Task[], texts: readonly string[]): Rate & { correct: number } {
  const options = compileRewardOptions();
  let correct = 0;
  for (let i = 0; i < Math.min(5000, tasks.length); i++) verifyCompletion(tasks[i]!, texts[i]!, options); // warm-up
  const r = timed(tasks.length, () => {
    for (let i = 0; i < tasks.length; i++) if (verifyCompletion(tasks[i]!, texts[i]!, options).correct) correct++;
  });
  return { ...r, correct };
}

/** Library path with task ids: what the service does per request (id -> task regeneration, then grading). */
function measureBatchById(tasks: readonly Task[], texts: readonly string[], batch: number, shareCache: boolean): Rate {
  const items: VerifyInput[] = tasks.map((t, i) => ({ taskId: t.taskId, completion: texts[i]! }));
  const options = compileRewardOptions();
  const cache = new Map<string, Task>();
  return timed(items.length, () => {
    for (let i = 0; i < items.length; i += batch) verifyBatch(items.slice(i, i + batch), options, shareCache ? cache : undefined);
  });
}

/**
 * gRPC Verify and the NATS worker, end to end, at the same batch size: NOT MEASURED YET (services/verifier
 * is a later item). Returns completions/s per path once implemented; main() prints the ratio to the library.
 */
async function measureServicePaths(_tasks: readonly Task[], _texts: readonly string[], _batch: number): Promise<{ grpc: number; nats: number } | null> {
  return null;
}

async function main(): Promise<void> {
  const distinct = listTasks({ suite: 'arithmetic', split: 'train', limit: 10000, seed: 1 });
  const tasks = Array.from({ length: N }, (_, i) => distinct[i % distinct.length]!);
  const texts = completionsFor(tasks);
  const lib = measureLibrary(tasks, texts);
  const byId = measureBatchById(tasks, texts, BATCH, false);
  const byIdCached = measureBatchById(tasks, texts, BATCH, true);
  console.log(`verifier bench: ${N} arithmetic completions (suite "arithmetic"; 60% correct by construction), node ${process.version}`);
  console.log('rates: completions per CPU-second of this process (= per core) [wall-clock rate]');
  console.log(`library, tasks resolved:                   ${fmt(lib.cpu)}/s [${fmt(lib.wall)}/s] target >= ${fmt(TARGET_PER_CORE)}: ${lib.cpu >= TARGET_PER_CORE ? 'PASS' : 'BELOW TARGET'}`);
  console.log(`library, by task id, batch ${BATCH}, no cache:    ${fmt(byId.cpu)}/s [${fmt(byId.wall)}/s] ratio to resolved ${(byId.cpu / lib.cpu).toFixed(2)}`);
  console.log(`library, by task id, batch ${BATCH}, shared cache: ${fmt(byIdCached.cpu)}/s [${fmt(byIdCached.wall)}/s] ratio to resolved ${(byIdCached.cpu / lib.cpu).toFixed(2)}`);
  console.log(`graded correct: ${lib.correct} of ${N}`);
  const service = await measureServicePaths(tasks, texts, BATCH);
  if (service === null) console.log('gRPC / NATS paths: not measured yet (services/verifier pending)');
  else console.log(`gRPC ${fmt(service.grpc)}/s (x${(service.grpc / lib.cpu).toFixed(2)} of library), NATS ${fmt(service.nats)}/s (x${(service.nats / lib.cpu).toFixed(2)} of library)`);
}

await main();
