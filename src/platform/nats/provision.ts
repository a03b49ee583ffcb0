// Per-run JetStream topology: streams and durable pull consumers as in docs/conventions.md, created or
// updated idempotently (provisionRun) and removed with the weights bucket (deleteRun).
import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { ConsumerName, runNames, Stage } from './names.ts';

export interface ConsumerLimits {
  /** ms before an unacked delivery is redelivered (handlers extend it with working()). Default 60000. */
  ackWaitMs?: number;
  /** deliveries before a message is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** unacked messages in flight for this consumer (the bound on outstanding work). Default 1000. */
  maxAckPending?: number;
}

export interface ProvisionOptions extends ConsumerLimits {
  /** the `rewarded` stream feeds `teacher` (true, default) or straight to `learner` (false). */
  withTeacher?: boolean;
  /** per-consumer overrides, e.g. `{ rollout: { maxAckPending: 16 } }` */
  consumers?: Partial<Record<ConsumerName, ConsumerLimits>>;
  /** `Nats-Msg-Id` dedupe window in ms; keep it above ackWaitMs * maxDeliver. Default 600000. */
  duplicateWindowMs?: number;
  /** per-stream message bound (publishers get an error past it). Default 100000. */
  maxMsgs?: number;
  /** per-stream byte bound (JetStream reserves it up front, so keep it modest). Default 256 MiB. */
  maxBytes?: number;
  /** message age limit in ms. Default 7 days. */
  maxAgeMs?: number;
  /** announcements kept on the weights stream (latest-value stream, oldest dropped). Default 64. */
  weightsHistory?: number;
  /** copies of each stream on a NATS cluster, 1..5 (more than 1 needs a clustered server). Default 1. */
  replicas?: number;
  storage?: 'file' | 'memory';
  /**
   * The nats-server's version (provisionRun reads it from the connection). On a server whose byte limit is unsafe
   * with discard-new (see byteLimitIsSafe) the work streams get no byte limit and are bounded by messages alone.
   */
  serverVersion?: string;
}

/**
 * nats-server before 2.10.5 under-counts a message against `max_bytes` on a discard-new stream: it acknowledges a
 * publish past the limit, then trims the stream from the front as discard-old would (nats-server issues 4771 and
 * 4775, fixed by pull request 4772): stored work lost without an error. Debian 12 ships 2.9.10. An unknown version
 * counts as unsafe.
 */
export function byteLimitIsSafe(serverVersion: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(serverVersion ?? '');
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major > 2 || (major === 2 && (minor > 10 || (minor === 10 && patch >= 5)));
}

/** What a run's streams lose on this server, said once by whoever provisions (null when nothing). */
export function byteLimitWarning(serverVersion: string | undefined): string | null {
  if (byteLimitIsSafe(serverVersion)) return null;
  return `nats-server ${serverVersion ?? '(version unknown)'} can drop stored messages of a discard-new stream past its byte limit (fixed in 2.10.5): the run's work streams are bounded by message count only; upgrade nats-server to bound bytes too`;
}

export interface StreamPlan {
  stage: Stage;
  config: StreamConfig;
  consumers: ConsumerConfig[];
}

/** Consumer on each stage's stream (the weights stream has only ephemeral ones). */
function durableFor(stage: Stage, withTeacher: boolean): ConsumerName | undefined {
  switch (stage) {
    case Stage.tasks: return ConsumerName.rollout;
    case Stage.rollouts: return ConsumerName.verifier;
    case Stage.rewarded: return withTeacher ? ConsumerName.teacher : ConsumerName.learner;
    case Stage.scored: return ConsumerName.learner;
    case Stage.feedback: return ConsumerName.controller;
    case Stage.metrics: return ConsumerName.gateway;
    case Stage.dead: return ConsumerName.gateway;
    case Stage.weights: return undefined;
  }
}

function positive(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RlmeshError(ErrorCategory.config, `${field}: must be a positive integer, got ${v}`, { field });
  return v;
}

/** Pure: the streams and consumers of a run. */
export function planRun(runId: string, opts: ProvisionOptions = {}): StreamPlan[] {
  const names = runNames(runId);
  const withTeacher = opts.withTeacher ?? true;
  const maxMsgs = positive(opts.maxMsgs, 100_000, 'maxMsgs');
  const maxBytes = positive(opts.maxBytes, 256 << 20, 'maxBytes');
  const maxAgeMs = positive(opts.maxAgeMs, 7 * 24 * 3600_000, 'maxAgeMs');
  const dupMs = positive(opts.duplicateWindowMs, 600_000, 'duplicateWindowMs');
  const replicas = positive(opts.replicas, 1, 'replicas');
  if (replicas > 5) throw new RlmeshError(ErrorCategory.config, `replicas: JetStream keeps at most 5 copies of a stream, got ${replicas}`, { field: 'replicas' });
  const storage = opts.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const bytesBound = byteLimitIsSafe(opts.serverVersion);
  return Object.values(Stage).map((stage) => {
    const { subject, stream } = names.stages[stage];
    // Work stages are work queues (a message lives until its one consumer acks it); dead letters are kept
    // for inspection; weights announcements are a latest-value log where dropping the oldest is the intent.
    const retention = stage === Stage.dead || stage === Stage.weights ? RetentionPolicy.Limits : RetentionPolicy.Workqueue;
    const config: StreamConfig = {
      name: stream,
      subjects: [subject],
      retention,
      storage,
      num_replicas: replicas,
      max_msgs: stage === Stage.weights ? positive(opts.weightsHistory, 64, 'weightsHistory') : maxMsgs,
      // (the weights stream discards old: its byte limit is safe on every server)
      max_bytes: stage === Stage.weights ? Math.min(maxBytes, 16 << 20) : bytesBound ? maxBytes : -1,
      max_age: nanos(maxAgeMs),
      max_msgs_per_subject: -1,
      max_msg_size: -1,
      max_consumers: -1,
      discard: stage === Stage.weights ? DiscardPolicy.Old : DiscardPolicy.New,
      duplicate_window: nanos(Math.min(dupMs, maxAgeMs)),
      description: `rlmesh run ${runId}: ${stage}`,
    } as StreamConfig;
    const durable = durableFor(stage, withTeacher);
    const consumers: ConsumerConfig[] = [];
    if (durable) {
      const limits = { ...opts, ...opts.consumers?.[durable] };
      consumers.push({
        durable_name: durable,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(positive(limits.ackWaitMs, 60_000, `consumers.${durable}.ackWaitMs`)),
        max_deliver: positive(limits.maxDeliver, 5, `consumers.${durable}.maxDeliver`),
        max_ack_pending: positive(limits.maxAckPending, 1000, `consumers.${durable}.maxAckPending`),
        description: `rlmesh ${durable} on ${subject}`,
      } as ConsumerConfig);
    }
    return { stage, config, consumers };
  });
}

/** The version the connected nats-server announced, when the manager is nats.js's. */
export function serverVersionOf(jsm: JetStreamManager): string | undefined {
  return (jsm as { nc?: { info?: { version?: string } } }).nc?.info?.version;
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10059 || err.code === 10014);
}

/** JetStream's error for num_replicas > 1 on a server that runs without clustering. */
const REPLICAS_NEED_CLUSTER = 10074;

function transportError(what: string, err: unknown): RlmeshError {
  if (err instanceof RlmeshError) return err;
  if (err instanceof JetStreamApiError && err.code === REPLICAS_NEED_CLUSTER) {
    return new RlmeshError(ErrorCategory.config, `${what}: replicas: more than 1 copy needs a clustered NATS; this server runs alone (${err.message})`, { field: 'replicas', cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new RlmeshError(ErrorCategory.transport, `${what}: ${msg}`, { cause: err });
}

/** Creates or updates every stream and durable consumer of the run; safe to call again with new limits. */
export async function provisionRun(jsm: JetStreamManager, runId: string, opts: ProvisionOptions = {}): Promise<StreamPlan[]> {
  const plan = planRun(runId, { ...opts, serverVersion: opts.serverVersion ?? serverVersionOf(jsm) });
  for (const { config, consumers } of plan) {
    try {
      const existing = await jsm.streams.info(config.name).catch((err: unknown) => (isNotFound(err) ? null : Promise.reject(err)));
      if (!existing) {
        await jsm.streams.add(config);
      } else {
        const same = existing.config.subjects?.length === 1 && existing.config.subjects[0] === config.subjects[0];
        if (!same) {
          throw new RlmeshError(ErrorCategory.config, `stream ${config.name} already serves ${existing.config.subjects?.join(',')}; run ids differing only in '-'/'_' or case collide`, { field: 'run_id' });
        }
        const { retention: _r, storage: _s, ...updatable } = config;
        await jsm.streams.update(config.name, updatable);
      }
      // The stream's one durable: drop a stale one (e.g. teacher after switching to withTeacher=false).
      const wanted = new Set(consumers.map((c) => c.durable_name));
      for await (const ci of jsm.consumers.list(config.name)) {
        if (ci.config.durable_name && !wanted.has(ci.config.durable_name)) await jsm.consumers.delete(config.name, ci.name);
      }
      for (const cc of consumers) {
        const has = await jsm.consumers.info(config.name, cc.durable_name!).catch((err: unknown) => (isNotFound(err) ? null : Promise.reject(err)));
        if (has) {
          await jsm.consumers.update(config.name, cc.durable_name!, {
            ack_wait: cc.ack_wait,
            max_deliver: cc.max_deliver,
            max_ack_pending: cc.max_ack_pending,
            description: cc.description,
          });
        } else {
          await jsm.consumers.add(config.name, cc);
        }
      }
    } catch (err) {
      throw transportError(`provisioning ${config.name}`, err);
    }
  }
  return plan;
}

/**
 * Resolves once every stream of the run exists. The gateway provisions a run; on a cluster the actors may start
 * before it (any start order), and one that read a missing stream would fail and restart in a back-off loop. Says
 * what it waits for every `logEveryMs`.
 */
export async function waitForRun(jsm: JetStreamManager, runId: string, opts: { log?: (m: string) => void; pollMs?: number; logEveryMs?: number } = {}): Promise<void> {
  let streams = Object.values(runNames(runId).stages).map((s) => s.stream);
  const started = Date.now();
  let said = started;
  for (;;) {
    const missing: string[] = [];
    for (const s of streams) {
      try {
        await jsm.streams.info(s);
      } catch (err) {
        if (!isNotFound(err)) throw transportError(`reading stream ${s}`, err);
        missing.push(s);
      }
    }
    if (missing.length === 0) return;
    streams = missing; // (a stream once there stays: the next poll asks for the missing ones only)
    if (Date.now() - said >= (opts.logEveryMs ?? 10_000)) {
      said = Date.now();
      opts.log?.(`waiting ${Math.round((said - started) / 1000)} s for run ${runId}'s streams (${missing.join(', ')}): the gateway creates them when it starts the run`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Deletes the run's streams and weights bucket; returns how many existed. */
export async function deleteRun(jsm: JetStreamManager, runId: string): Promise<number> {
  const names = runNames(runId);
  const streams = [...Object.values(names.stages).map((s) => s.stream), `OBJ_${names.weightsBucket}`];
  let deleted = 0;
  for (const s of streams) {
    try {
      if (await jsm.streams.delete(s)) deleted++;
    } catch (err) {
      if (!isNotFound(err)) throw transportError(`deleting ${s}`, err);
    }
  }
  return deleted;
}
