// Weight publish -> every rollout worker serving the new version: the bench puts a version in the run's WeightStore
// and announces it exactly as Trainer.publishWeights does, then polls StudentRollout.GetPolicy on each worker.
// Reference in the same run: the same bytes sent over core NATS (1 MiB messages) to as many subscriber connections.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { LlamaModel, validateLlamaConfig, type LlamaConfig } from '../../src/engine/index.ts';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import { CharTokenizer } from '../../src/engine/tokenizer.ts';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { StudentRolloutClient } from '../../src/generated/rlmesh/v1/rollout.ts';
import { callUnary, createGrpcClient } from '../../src/platform/grpc/index.ts';
import { connectNats, deleteRun, provisionRun, publishProto, runNames, sha256Hex, WeightStore } from '../../src/platform/nats/index.ts';
import { Supervisor } from '../../src/platform/process/index.ts';
import { benchRunConfig, benchRunId, CLI_ENTRY, serveActor, writeYaml, type BenchRunShape } from './actors.ts';

export interface ModelSize {
  name: string;
  hidden: number;
  layers: number;
  heads: number;
}

export const WEIGHT_SIZES: readonly ModelSize[] = [
  { name: 'S', hidden: 128, layers: 4, heads: 4 },
  { name: 'M', hidden: 256, layers: 6, heads: 8 },
];

export interface SyncSample {
  version: number;
  /** WeightStore.put (object store chunks + metadata), ms */
  putMs: number;
  /** announcement published -> every worker's GetPolicy reports the version, ms */
  announceToServingMs: number;
  /** put start -> every worker serving, ms (what a learner's publish costs the fleet) */
  totalMs: number;
  /** slowest worker's own swap time (object-store get + sha256 + decode + loadWeights), from its log line, ms */
  workerSwapMs: number;
  /** core-NATS transfer of the same bytes to `workers` subscriber connections, ms (reference) */
  rawNatsMs: number;
}

export interface SyncResult {
  size: ModelSize;
  parameters: number;
  bytes: number;
  workers: number;
  samples: SyncSample[];
}

function configOf(s: ModelSize, tokenizer: CharTokenizer): LlamaConfig {
  return validateLlamaConfig({
    vocab_size: tokenizer.vocabSize, bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId,
    hidden_size: s.hidden, intermediate_size: 4 * s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads,
    num_key_value_heads: s.heads, max_position_embeddings: 128,
  });
}

/** Sends `bytes` in max_payload-sized messages from `pub` and resolves once each of `subs` received all of them. */
async function rawTransferMs(pub: NatsConnection, subs: readonly NatsConnection[], bytes: Uint8Array, subject: string): Promise<number> {
  const chunk = Math.min(1 << 20, pub.info?.max_payload ?? 1 << 20);
  const done = subs.map((nc) => new Promise<void>((resolve) => {
    let got = 0;
    const sub = nc.subscribe(subject, {
      callback: (_err, m) => {
        got += m.data.length;
        if (got >= bytes.length) { sub.unsubscribe(); resolve(); }
      },
    });
  }));
  await Promise.all(subs.map((nc) => nc.flush())); // interest registered before the first byte
  const t0 = performance.now();
  for (let off = 0; off < bytes.length; off += chunk) pub.publish(subject, bytes.subarray(off, off + chunk));
  await pub.flush();
  await Promise.all(done);
  return performance.now() - t0;
}

/** The swap time a rollout worker logged for `version` (`serving policy v<version> (swap <ms> ms)`), or NaN. */
function loggedSwapMs(logFile: string, version: number): number {
  let text = '';
  try { text = readFileSync(logFile, 'utf8'); } catch { return Number.NaN; }
  const m = new RegExp(`serving policy v${version} \\(swap (\\d+) ms\\)`).exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** Polls GetPolicy on every worker until each serves `version`. */
async function waitServing(clients: readonly StudentRolloutClient[], version: number): Promise<void> {
  await Promise.all(clients.map(async (c) => {
    const deadline = performance.now() + 120_000;
    for (;;) {
      const p = await callUnary(c, 'getPolicy', {});
      if (p.policyVersion >= version) return;
      if (performance.now() > deadline) throw new Error(`worker ${p.workerId} still serves v${p.policyVersion}, waiting for v${version}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }));
}

export interface SyncOptions {
  size: ModelSize;
  workers: number;
  repeats: number;
  natsUrl: string;
  shape: BenchRunShape;
  onSample: () => void;
}

/** A checkpoint of `size` in a temp dir, `workers` rollout processes serving it, then `repeats` published versions. */
export async function measureWeightSync(o: SyncOptions): Promise<SyncResult> {
  const tokenizer = CharTokenizer.builtin();
  const config = configOf(o.size, tokenizer);
  const root = mkdtempSync(path.join(tmpdir(), `rlmesh-bench-weights-${o.size.name}-`));
  const modelDir = path.join(root, 'model');
  const base = LlamaModel.init(config, 0);
  const parameters = base.numParameters();
  await saveCheckpoint(modelDir, { config, weights: base.toWeights(), tokenizer });
  base.dispose();

  const runId = benchRunId(`w${o.size.name}`);
  const names = runNames(runId);
  const configFile = path.join(root, 'run.yaml');
  const logDir = path.join(root, 'logs');
  writeYaml(configFile, benchRunConfig(runId, { ...o.shape, studentModel: modelDir, rolloutWorkers: o.workers }));
  const nc = await connectNats({ servers: o.natsUrl, name: 'rlmesh-bench-weights' });
  const subs = await Promise.all(Array.from({ length: o.workers }, (_, i) => connectNats({ servers: o.natsUrl, name: `rlmesh-bench-raw-${i}` })));
  const js = jetstream(nc, { timeout: 60_000 });
  const jsm = await jetstreamManager(nc);
  const sup = new Supervisor({ entry: CLI_ENTRY });
  const clients: StudentRolloutClient[] = [];
  try {
    await provisionRun(jsm, runId, { maxBytes: 64 << 20 });
    const store = await WeightStore.open(js, runId);
    const workers = await Promise.all(Array.from({ length: o.workers }, (_, i) =>
      serveActor(sup, 'rollout', { label: `rollout-${i + 1}`, configFile, runId, natsUrl: o.natsUrl, logDir })));
    for (const w of workers) clients.push(createGrpcClient(StudentRolloutClient, `127.0.0.1:${w.grpcPort}`, { deadlineMs: 30_000 }));
    await waitServing(clients, 0);
    const samples: SyncSample[] = [];
    let bytes = 0;
    for (let version = 1; version <= o.repeats; version++) {
      const model = LlamaModel.init(config, version); // a different policy per version, as after a learner step
      const blob = encodeSafetensors(model.toWeights());
      model.dispose();
      bytes = blob.length;
      // What Trainer.publishWeights does: put, then announce with the object's name, digest and size.
      const t0 = performance.now();
      await store.put(version, blob, { step: String(version) });
      const tPut = performance.now();
      await publishProto(js, names.stages.weights.subject, WeightsAnnouncement, {
        runId, version, step: version, bucket: names.weightsBucket, objectName: names.weightsObject(version),
        sha256: sha256Hex(blob), sizeBytes: blob.length,
      }, { msgId: `weights-v${version}` });
      const tAnnounce = performance.now();
      await waitServing(clients, version);
      const tServing = performance.now();
      const rawNatsMs = await rawTransferMs(nc, subs, blob, `_bench.${runId}.raw`);
      const workerSwapMs = Math.max(...workers.map((w) => loggedSwapMs(path.join(logDir, `${w.label}.log`), version)));
      samples.push({ version, putMs: tPut - t0, announceToServingMs: tServing - tAnnounce, totalMs: tServing - t0, workerSwapMs, rawNatsMs });
      o.onSample();
    }
    return { size: o.size, parameters, bytes, workers: o.workers, samples };
  } finally {
    for (const c of clients) c.close();
    await sup.stopAll(10_000);
    await deleteRun(jsm, runId).catch(() => 0);
    for (const s of subs) await s.close();
    await nc.close();
    if (!process.env.RLMESH_BENCH_KEEP) rmSync(root, { recursive: true, force: true });
  }
}
