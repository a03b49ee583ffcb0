// Verifier throughput: arithmetic completions verified per second per core through the library, through gRPC
// Verify (`rlmesh serve verifier` in a child process) and through the NATS worker end to end (rollouts -> rewarded,
// TrajectoryBatch messages of --batch trajectories, as rollout workers publish them), untraced (OTEL_SDK_DISABLED),
// traced with OTEL_TRACES_SAMPLER=parentbased_traceidratio 0.01 and traced always on; then the transport ceiling
// measured in the same run: the same batches moved rollouts -> rewarded without grading by raw nats.js (fetch + ack
// only; fetch + js.publish + ack) and by the worker's own transport (consumeProto + decode + publishTrajectoryBatch).
// Run: npm run bench:verifier   (options: --n 200000 --batch 64 --service-n 50000 --profile DIR; NATS at RLMESH_NATS_URL)
// --profile DIR writes V8 CPU profiles: one per served verifier (node --cpu-prof) and one per in-process ceiling.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { Trajectory, TrajectoryBatch } from '../src/generated/rlmesh/v1/common.ts';
import { VerifierRewardClient, type VerifyRequest } from '../src/generated/rlmesh/v1/verifier.ts';
import { callUnary, createGrpcClient } from '../src/platform/grpc/index.ts';
import {
  connectNats, ConsumerName, consumeProto, deleteRun, Header, provisionRun, publishTrajectoryBatch, runNames, trajectoryBatchMsgId,
  trajectoryBatchSummaries, type RunNames,
} from '../src/platform/nats/index.ts';
import { nodeFlagsFor } from '../src/platform/process/index.ts';
import { readSpanFile } from '../src/platform/telemetry/index.ts';
import { startCpuProfile } from '../src/platform/telemetry/cpu-profile.ts';
import { LENGTH_BUDGET_PARAM } from '../src/tasks/index.ts';
import { DEFAULT_PULL } from '../services/verifier/worker.ts';
import {
  compileRewardOptions, completionLength, listTasks, toTaskSpec, verifyBatch, verifyCompletion, type Task, type VerifyInput,
} from '../src/tasks/index.ts';

const TARGET_PER_CORE = 50_000;

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200000' }, batch: { type: 'string', default: '64' }, 'service-n': { type: 'string', default: '50000' },
    /** writes a V8 CPU profile of each served verifier (node --cpu-prof) and each ceiling mover into this folder */
    profile: { type: 'string' },
    /** child mode for the transport ceiling: run this mover on run `--run` holding `--count` trajectories */
    mover: { type: 'string' },
    run: { type: 'string' },
    count: { type: 'string' },
    messages: { type: 'string' },
  },
});
const N = Number(values.n);
const BATCH = Number(values.batch);
/** completions sent through each service path (the NATS path stores them all on the rollouts stream first) */
const SERVICE_N = Math.min(N, Number(values['service-n']));
const NATS_URL = process.env.RLMESH_NATS_URL ?? 'nats://127.0.0.1:4222';

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

interface ServiceRate extends Rate {
  /** completions measured */
  count: number;
}

interface ServedVerifier {
  grpcPort: number;
  metricsPort: number;
  /** its RLMESH_SPAN_FILE (the caller removes it) */
  spanFile: string;
  stop(): Promise<void>;
}

/** `rlmesh serve verifier` in a child process (the deployable as users run it); resolves on its READY line. */
const spanFileOf = (runId: string): string => path.join(tmpdir(), `rlmesh-bench-${runId}.jsonl`);

async function serveVerifier(runId: string, env: Record<string, string> = {}): Promise<ServedVerifier> {
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values.profile)] : [];
  const args = ['serve', 'verifier', '--port', '0', '--metrics-port', '0', '--nats', NATS_URL, '--run', runId];
  // the node flags rlmesh starts a verifier with (Supervisor, infra manifests)
  const proc = spawn(process.execPath, [...prof, ...nodeFlagsFor(args), '--import', 'tsx', 'src/cli/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RLMESH_SPAN_FILE: spanFileOf(runId), ...env },
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const exited = once(proc, 'exit');
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^READY verifier grpc=(\d+) metrics=(\d+)/.exec(line);
      if (m) resolve(m);
    });
    void exited.then(([code]) => reject(new Error(`verifier exited (${String(code)}) before READY: ${err}`)));
  });
  return {
    grpcPort: Number(ready[1]),
    metricsPort: Number(ready[2]),
    spanFile: spanFileOf(runId),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The child's CPU seconds and trajectories verified over NATS so far, read from its own /metrics. */
async function scrape(port: number): Promise<{ cpuSeconds: number; verified: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  return {
    cpuSeconds: value(/^process_cpu_seconds_total(?:\{[^}]*\})? ([\d.e+-]+)$/m),
    verified: value(/^rlmesh_verifier_verified_total\{source="nats"[^}]*\} ([\d.e+-]+)$/m),
  };
}

/** gRPC Verify in batches of `batch` (4 calls in flight), rates per CPU-second of the server process. */
async function measureGrpc(tasks: readonly Task[], texts: readonly string[], batch: number): Promise<ServiceRate> {
  const server = await serveVerifier(`bench-grpc-${process.pid}-${Date.now().toString(36)}`);
  const client = createGrpcClient(VerifierRewardClient, `127.0.0.1:${server.grpcPort}`, { deadlineMs: 60_000 });
  try {
    const requests: VerifyRequest[] = [];
    for (let i = 0; i < tasks.length; i += batch) {
      requests.push({ weights: {}, items: tasks.slice(i, i + batch).map((t, j) => ({ taskId: t.taskId, task: undefined, completion: texts[i + j]!, completionTokens: 0 })) });
    }
    const sendAll = async (reqs: readonly VerifyRequest[]): Promise<number> => {
      let next = 0;
      let correct = 0;
      const lane = async (): Promise<void> => {
        while (next < reqs.length) {
          const res = await callUnary(client, 'verify', reqs[next++]!);
          for (const r of res.rewards) if (r.correct) correct++;
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
      return correct;
    };
    await sendAll(requests.slice(0, Math.min(50, requests.length))); // warm-up: JIT and the task cache
    const before = await scrape(server.metricsPort);
    const t0 = performance.now();
    await sendAll(requests);
    const wallMs = performance.now() - t0;
    const after = await scrape(server.metricsPort);
    return { count: tasks.length, cpu: tasks.length / (after.cpuSeconds - before.cpuSeconds), wall: (tasks.length / wallMs) * 1000 };
  } finally {
    client.close();
    await server.stop();
    rmSync(server.spanFile, { force: true });
  }
}

/** Messages a verifier pulls at once (its default); the raw movers pull as many. */
const PULL = DEFAULT_PULL;

/**
 * Trajectories as a rollout worker publishes them: task spec, completion text, token ids, [T] float arrays and the
 * group's trace context (groups of 8 share a trace; a group is sampled when its index is a multiple of
 * `sampledEvery`, as an upstream parentbased_traceidratio sampler at 1 / sampledEvery would have decided).
 */
function trajectoriesFor(runId: string, tasks: readonly Task[], texts: readonly string[], sampledEvery: number): Trajectory[] {
  return tasks.map((t, i) => {
    const T = completionLength(texts[i]!);
    const floats = Array.from({ length: T }, (_, j) => -0.01 * ((i + j) % 97));
    const g = Math.floor(i / 8);
    const traceId = (g + 1).toString(16).padStart(32, '0');
    const traceparent = `00-${traceId}-${(i + 1).toString(16).padStart(16, '0')}-${g % sampledEvery === 0 ? '01' : '00'}`;
    return Trajectory.fromPartial({
      trajectoryId: `bench-g${g}/${i % 8}`, runId, taskId: t.taskId, groupId: `bench-g${g}`, sampleIndex: i % 8, task: toTaskSpec(t),
      completionText: texts[i]!, completionTokenIds: Array.from({ length: T }, (_, j) => (i + j) % 100),
      samplingLogprobs: floats, modelLogprobs: floats, entropies: floats.map((x) => -x), policyVersion: 1, groupSize: 8,
      traceContext: { traceparent },
    });
  });
}

interface NatsRate extends ServiceRate {
  /** CPU seconds the local nats-server spent over the measurement, when it could be read */
  natsServerCpuSeconds: number | null;
  /** worker only: spans its span file holds per name after it stopped (tracing must stay complete under load) */
  spans?: Record<string, number>;
  /** worker only: warm-up trajectories it verified before the timed window */
  warm?: number;
}

interface LoadedRun {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: RunNames;
  runId: string;
  /** trajectories waiting on `rollouts` */
  count: number;
  /** TrajectoryBatch messages holding them */
  messages: number;
  /** the first of those messages are a warm-up (not timed) */
  warmMessages: number;
}

/**
 * A fresh run whose `rollouts` holds the trajectories in TrajectoryBatch messages of BATCH (published before fn runs),
 * after `warm` trajectories (whole messages, ids of their own) for a warm-up; deleted after fn.
 */
async function withLoadedRun<T>(label: string, tasks: readonly Task[], texts: readonly string[], sampledEvery: number, fn: (run: LoadedRun) => Promise<T>, warm = 0): Promise<T> {
  const nc = await connectNats({ servers: NATS_URL, name: `rlmesh-bench-verifier-${label}` });
  const js = jetstream(nc, { timeout: 30_000 });
  const jsm = await jetstreamManager(nc);
  const runId = `bench-${label}-${process.pid}-${Date.now().toString(36)}`;
  const names = runNames(runId);
  try {
    await provisionRun(jsm, runId, { maxMsgs: tasks.length + warm + 1000, maxBytes: 1 << 30, maxAckPending: 10_000 });
    const warmup = trajectoriesFor(`${runId}-warm`, tasks.slice(0, warm), texts.slice(0, warm), sampledEvery).map((t) => ({ ...t, trajectoryId: `warm-${t.trajectoryId}` }));
    const trajectories = trajectoriesFor(runId, tasks, texts, sampledEvery);
    const batches: Trajectory[][] = [];
    for (let i = 0; i < warmup.length; i += BATCH) batches.push(warmup.slice(i, i + BATCH));
    const warmMessages = batches.length;
    for (let i = 0; i < trajectories.length; i += BATCH) batches.push(trajectories.slice(i, i + BATCH));
    for (let i = 0; i < batches.length; i += 100) {
      await Promise.all(batches.slice(i, i + 100).map((b) => js.publish(names.stages.rollouts.subject, TrajectoryBatch.encode({ trajectories: b }).finish(), {
        msgID: trajectoryBatchMsgId(b.map((t) => t.trajectoryId), 'rollout'),
      })));
    }
    return await fn({ js, jsm, names, runId, count: tasks.length, messages: batches.length - warmMessages, warmMessages });
  } finally {
    await deleteRun(jsm, runId).catch(() => 0);
    await nc.close();
  }
}

/** Resolves once `rewarded` holds `messages` (default: one per input message; every trajectory here is gradeable). */
async function untilRewarded(run: LoadedRun, messages = run.warmMessages + run.messages): Promise<void> {
  for (;;) {
    const info = await run.jsm.streams.info(run.names.stages.rewarded.stream);
    if (info.state.messages >= messages) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How the served verifier traces: its environment and how often the trajectories' upstream contexts are sampled. */
interface TraceMode {
  label: string;
  env: Record<string, string>;
  sampledEvery: number;
}

const TRACE_MODES = {
  untraced: { label: 'untraced (OTEL_SDK_DISABLED=true)', env: { OTEL_SDK_DISABLED: 'true' }, sampledEvery: 1 },
  ratio: {
    label: 'traced, parentbased_traceidratio 0.01', env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }, sampledEvery: 100,
  },
  alwaysOn: { label: 'traced, always on (the default)', env: {}, sampledEvery: 1 },
} satisfies Record<string, TraceMode>;

/**
 * The NATS worker end to end: N trajectories wait on a fresh run's `rollouts` in TrajectoryBatch messages, behind a
 * warm-up of one trajectory per distinct task (JIT and the worker's task cache, as the gRPC path warms up); then the
 * worker starts in a child process and the clock runs from the warm-up's last rewarded message until `rewarded` holds
 * them all. Rates are per CPU-second of the worker process over that time (its /metrics, read at both ends),
 * counting the trajectories it verified in it.
 */
async function measureNats(mode: TraceMode, tasks: readonly Task[], texts: readonly string[], distinct: number): Promise<NatsRate> {
  const warm = Math.ceil(Math.min(distinct, tasks.length) / BATCH) * BATCH;
  return withLoadedRun('nats', tasks, texts, mode.sampledEvery, async (run) => {
    const server = await serveVerifier(run.runId, mode.env);
    try {
      await untilRewarded(run, run.warmMessages);
      const natsCpu0 = natsServerCpuSeconds();
      const before = await scrape(server.metricsPort);
      const t0 = performance.now();
      await untilRewarded(run);
      const wallMs = performance.now() - t0;
      const after = await scrape(server.metricsPort);
      const natsCpu1 = natsServerCpuSeconds();
      const counted = after.verified - before.verified;
      await server.stop();
      const spans: Record<string, number> = {};
      try {
        for (const s of readSpanFile(spanFileOf(run.runId))) spans[s.name] = (spans[s.name] ?? 0) + 1;
      } catch {
        // untraced: no span file
      }
      rmSync(spanFileOf(run.runId), { force: true });
      return {
        count: counted, cpu: counted / (after.cpuSeconds - before.cpuSeconds), wall: (counted / wallMs) * 1000,
        natsServerCpuSeconds: natsCpu0 === null || natsCpu1 === null ? null : natsCpu1 - natsCpu0, spans, warm,
      };
    } finally {
      await server.stop();
    }
  }, warm);
}

interface Mover {
  stop(): Promise<void>;
  /** resolves when the mover's work is done; default: once `rewarded` holds every message */
  done?(run: LoadedRun): Promise<void>;
}

/**
 * Transport ceiling: the same batches moved rollouts -> rewarded by a mover in a child process of its own (a fresh
 * heap, like the worker's), started once they are stored and timed until its work is done; rate (trajectories) per
 * CPU-second of that child over that time, as the child measures it (`MOVED {json}` on stdout).
 */
async function measureMover(mover: MoverName, tasks: readonly Task[], texts: readonly string[]): Promise<NatsRate> {
  return withLoadedRun(mover, tasks, texts, 1, async (run) => {
    const natsCpu0 = natsServerCpuSeconds();
    // with the node flags of a served verifier (the same heap settings as the worker it bounds)
    const proc = spawn(process.execPath, [...nodeFlagsFor(['serve', 'verifier']), '--import', 'tsx', 'bench/verifier.ts', '--mover', mover, '--run', run.runId, '--count', String(run.count), '--messages', String(run.messages), '--batch', String(BATCH), ...(values.profile ? ['--profile', values.profile] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    const [code] = await once(proc, 'exit');
    const natsCpu1 = natsServerCpuSeconds();
    const line = /^MOVED (.+)$/m.exec(out);
    if (code !== 0 || !line) throw new Error(`mover ${mover} exited ${String(code)}: ${err.slice(-1000)}`);
    const moved = JSON.parse(line[1]!) as { cpuSeconds: number; wallMs: number };
    return {
      count: run.count, cpu: run.count / moved.cpuSeconds, wall: (run.count / moved.wallMs) * 1000,
      natsServerCpuSeconds: natsCpu0 === null || natsCpu1 === null ? null : natsCpu1 - natsCpu0,
    };
  });
}

/** Child mode (`--mover NAME --run ID --count N --messages M`): runs one mover on a loaded run and prints what it cost. */
async function moverMain(name: MoverName, runId: string, count: number, messages: number): Promise<void> {
  const nc = await connectNats({ servers: NATS_URL, name: `rlmesh-bench-mover-${name}` });
  const js = jetstream(nc, { timeout: 30_000 });
  const jsm = await jetstreamManager(nc);
  const run: LoadedRun = { js, jsm, names: runNames(runId), runId, count, messages, warmMessages: 0 };
  const stopProfile = await startCpuProfile(`bench-mover-${name}`, values.profile && path.resolve(values.profile));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const mover = movers[name](run);
  try {
    await (mover.done ? mover.done(run) : untilRewarded(run));
  } finally {
    await mover.stop();
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await stopProfile();
  await nc.close();
  console.log(`MOVED ${JSON.stringify({ cpuSeconds: (c.user + c.system) / 1e6, wallMs })}`);
}

/** Raw nats.js: fetch PULL messages, js.publish each payload unchanged (Nats-Msg-Id), await the PubAcks together, ack all. */
function rawNatsMover(run: LoadedRun): Mover {
  let stopped = false;
  const done = (async () => {
    const consumer = await run.js.consumers.get(run.names.stages.rollouts.stream, ConsumerName.verifier);
    const out = run.names.stages.rewarded.subject;
    while (!stopped) {
      const batch: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: PULL, expires: 1000 })) batch.push(m);
      await Promise.all(batch.map((m) => run.js.publish(out, m.data, { msgID: `${m.headers?.get(Header.msgId) ?? m.seq}:verifier` })));
      for (const m of batch) m.ack();
    }
  })();
  return { stop: async () => { stopped = true; await done; } };
}

/** The least a JetStream consumer does per message: fetch PULL, ack each (nothing published); done when `rollouts` is empty. */
function fetchAckMover(run: LoadedRun): Mover {
  let stopped = false;
  const loop = (async () => {
    const consumer = await run.js.consumers.get(run.names.stages.rollouts.stream, ConsumerName.verifier);
    while (!stopped) {
      const batch: JsMsg[] = [];
      for await (const m of await consumer.fetch({ max_messages: PULL, expires: 1000 })) batch.push(m);
      for (const m of batch) m.ack();
    }
  })();
  return {
    stop: async () => { stopped = true; await loop; },
    async done(r) {
      for (;;) {
        if ((await r.jsm.streams.info(r.names.stages.rollouts.stream)).state.messages === 0) return;
        await new Promise((res) => setTimeout(res, 50));
      }
    },
  };
}

/**
 * The worker's transport with nothing graded: consumeProto batch mode reading each TrajectoryBatch as summaries (as
 * the worker does), then one publishTrajectoryBatch per message of the received trajectory bytes unchanged; untraced.
 */
function noopMover(run: LoadedRun): Mover {
  const type = trajectoryBatchSummaries({ taskParams: [LENGTH_BUDGET_PARAM] });
  const loop = consumeProto(run.js, {
    stream: run.names.stages.rollouts.stream, consumer: ConsumerName.verifier, type, deadSubject: run.names.stages.dead.subject,
    batch: PULL, concurrency: 2, expiresMs: 1000,
    handleBatch: (items) => Promise.allSettled(items.map(({ value }) => publishTrajectoryBatch(run.js, run.names.stages.rewarded.subject,
      value.encoded.map((data, i) => ({ id: value.summaries[i]!.trajectoryId, data })), { stage: 'verifier' }))),
  });
  return { stop: () => loop.stop() };
}

const movers = {
  'fetch-ack': fetchAckMover,
  raw: rawNatsMover,
  noop: noopMover,
} satisfies Record<string, (run: LoadedRun) => Mover>;
type MoverName = keyof typeof movers;

/** CPU seconds of the nats-server serving NATS_URL (Linux /proc; the one whose command line names its port, else the only one), or null. */
function natsServerCpuSeconds(): number | null {
  const port = /:(\d+)\/?$/.exec(NATS_URL)?.[1] ?? '4222';
  const found: Array<{ cpu: number; ours: boolean }> = [];
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'nats-server') continue;
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const ours = args.some((a, i) => (a === '-p' || a === '--port') && args[i + 1] === port) || args.some((a) => a.endsWith(`:${port}`));
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        found.push({ cpu: (Number(fields[11]) + Number(fields[12])) / 100, ours }); // utime + stime, clock ticks (USER_HZ 100)
      } catch {
        // the process went away while we read it
      }
    }
  } catch {
    return null;
  }
  const ours = found.filter((f) => f.ours);
  if (ours.length === 1) return ours[0]!.cpu;
  return found.length === 1 ? found[0]!.cpu : null;
}

interface ServicePaths {
  grpc: ServiceRate | string;
  nats: Record<keyof typeof TRACE_MODES, NatsRate | string>;
  rawNats: NatsRate | string;
  fetchAck: NatsRate | string;
  noop: NatsRate | string;
}

/** gRPC Verify, the NATS worker (three trace modes) and the transport ceilings; a path that cannot run reports why. */
async function measureServicePaths(tasks: readonly Task[], texts: readonly string[], batch: number, distinct: number): Promise<ServicePaths> {
  const reason = (e: unknown) => `not measured: ${e instanceof Error ? e.message : String(e)}`;
  const grpc = await measureGrpc(tasks, texts, batch).catch(reason);
  const nats = {
    untraced: await measureNats(TRACE_MODES.untraced, tasks, texts, distinct).catch(reason),
    ratio: await measureNats(TRACE_MODES.ratio, tasks, texts, distinct).catch(reason),
    alwaysOn: await measureNats(TRACE_MODES.alwaysOn, tasks, texts, distinct).catch(reason),
  };
  const fetchAck = await measureMover('fetch-ack', tasks, texts).catch(reason);
  const rawNats = await measureMover('raw', tasks, texts).catch(reason);
  const noop = await measureMover('noop', tasks, texts).catch(reason);
  return { grpc, nats, fetchAck, rawNats, noop };
}

async function main(): Promise<void> {
  const distinct = listTasks({ suite: 'arithmetic', split: 'train', limit: 10000, seed: 1 });
  const tasks = Array.from({ length: N }, (_, i) => distinct[i % distinct.length]!);
  const texts = completionsFor(tasks);
  const load0 = loadavg()[0]!;
  const lib = measureLibrary(tasks, texts);
  const byId = measureBatchById(tasks, texts, BATCH, false);
  const byIdCached = measureBatchById(tasks, texts, BATCH, true);
  console.log(`verifier bench: ${N} arithmetic completions (suite "arithmetic"; 60% correct by construction), node ${process.version}`);
  console.log('rates: completions per CPU-second of this process (= per core) [wall-clock rate]');
  console.log(`library, tasks resolved:                   ${fmt(lib.cpu)}/s [${fmt(lib.wall)}/s] target >= ${fmt(TARGET_PER_CORE)}: ${lib.cpu >= TARGET_PER_CORE ? 'PASS' : 'BELOW TARGET'}`);
  console.log(`library, by task id, batch ${BATCH}, no cache:    ${fmt(byId.cpu)}/s [${fmt(byId.wall)}/s] ratio to resolved ${(byId.cpu / lib.cpu).toFixed(2)}`);
  console.log(`library, by task id, batch ${BATCH}, shared cache: ${fmt(byIdCached.cpu)}/s [${fmt(byIdCached.wall)}/s] ratio to resolved ${(byIdCached.cpu / lib.cpu).toFixed(2)}`);
  console.log(`graded correct: ${lib.correct} of ${N}`);
  const service = await measureServicePaths(tasks.slice(0, SERVICE_N), texts.slice(0, SERVICE_N), BATCH, distinct.length);
  const ratio = (r: Rate) => `ratio to library ${(r.cpu / lib.cpu).toFixed(2)}`;
  if (typeof service.grpc === 'string') console.log(`gRPC Verify: ${service.grpc}`);
  else console.log(`gRPC Verify, batch ${BATCH}, 4 calls in flight:      ${fmt(service.grpc.cpu)}/s [${fmt(service.grpc.wall)}/s] per server CPU-second; ${ratio(service.grpc)} (${service.grpc.count} completions)`);
  const natsLine = (label: string, r: NatsRate | string, per: string): void => {
    if (typeof r === 'string') {
      console.log(`${label} ${r}`);
      return;
    }
    const server = r.natsServerCpuSeconds === null ? '' : `; nats-server ${r.natsServerCpuSeconds.toFixed(2)} CPU-s (${fmt(r.count / Math.max(r.natsServerCpuSeconds, 1e-3))}/s per nats-server CPU-second)`;
    console.log(`${label} ${fmt(r.cpu)}/s [${fmt(r.wall)}/s] per ${per} CPU-second; ${ratio(r)}${server}`);
  };
  console.log(`NATS worker, rollouts -> rewarded, TrajectoryBatch messages of ${BATCH} trajectories (batch ${BATCH}), pull ${PULL} messages graded together, 2 pulls in flight:`);
  for (const key of Object.keys(TRACE_MODES) as Array<keyof typeof TRACE_MODES>) {
    const r = service.nats[key];
    natsLine(`  ${TRACE_MODES[key].label}:`, r, 'worker');
    if (typeof r !== 'string') {
      const spans = Object.entries(r.spans ?? {}).map(([name, n]) => `${name.replace(/ rlmesh\.[^.]+\./, ' ')} ${n}`).join(', ');
      console.log(`    ${r.count} trajectories verified in the timed window, after ${r.warm ?? 0} warm-up ones; spans written in all: ${spans || 'none'}`);
    }
  }
  const untraced = service.nats.untraced;
  if (typeof untraced !== 'string') {
    console.log(`  target NATS worker (untraced) >= 0.50 of library: ${untraced.cpu >= 0.5 * lib.cpu ? 'PASS' : 'BELOW TARGET'}`);
  }
  console.log(`transport ceiling (no grading; the same ${SERVICE_N} trajectories in batches of ${BATCH} rollouts -> rewarded, each mover in a child process; trajectories per its CPU-second):`);
  natsLine(`  raw nats.js: fetch ${PULL}, ack (nothing published; the floor):`, service.fetchAck, 'mover');
  natsLine(`  raw nats.js: fetch ${PULL}, js.publish each, await PubAcks, ack:`, service.rawNats, 'mover');
  natsLine(`  the worker's transport (consumeProto batch of ${PULL}, summaries read, publishTrajectoryBatch), no grading, untraced:`, service.noop, 'mover');
  if (typeof untraced !== 'string' && typeof service.noop !== 'string') {
    console.log(`  worker (untraced) / no-op ceiling: ${(untraced.cpu / service.noop.cpu).toFixed(2)}; no-op ceiling / library: ${(service.noop.cpu / lib.cpu).toFixed(2)}`);
  }
  console.log(`1-min load average: ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`);
}

if (values.mover) {
  if (!Object.hasOwn(movers, values.mover)) throw new Error(`--mover: one of ${Object.keys(movers).join(', ')}`);
  await moverMain(values.mover as MoverName, values.run ?? '', Number(values.count), Number(values.messages));
} else {
  await main();
}
