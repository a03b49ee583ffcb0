// Keeps a rollout worker's student weights current: loads the initial checkpoint, then follows the run's
// weights announcements and swaps in each newer version from the object store (never mid-sequence: generation
// is synchronous, so a swap happens between groups). Only announced versions are served.
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { decodeSafetensors } from '../../src/engine/safetensors.ts';
import type { Policy } from '../../src/actors/index.ts';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { lastAnnouncement, runNames, WeightStore } from '../../src/platform/nats/index.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';

export interface PolicySync {
  policy: Policy;
  /** Resolves once the worker serves at least `version`. */
  waitFor(version: number, signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export interface PolicySyncDeps {
  js: JetStreamClient;
  /** the worker's manager (the poll reads the last announcement through it) */
  jsm: JetStreamManager;
  runId: string;
  /** copies of the weights bucket when this worker is the first to open it (the run's nats.replicas); default 1 */
  replicas?: number;
  policy: Policy;
  log: (m: string) => void;
  onSwap?: (v: number, ms: number) => void;
  /** how often the last announcement is read besides the subscription (the safety net below); default 5000 ms */
  pollMs?: number;
}

export async function startPolicySync({ js, jsm, runId, replicas = 1, policy, log, onSwap, pollMs = 5000 }: PolicySyncDeps): Promise<PolicySync> {
  const names = runNames(runId);
  const store = await WeightStore.open(js, runId, { replicas });
  const waiters: Array<{ version: number; resolve: () => void }> = [];
  let stopped = false;
  let messages: { close(): Promise<void | Error> } | undefined;

  /**
   * An announcement this worker may act on: of its run, naming the run's bucket and the object of its version, with
   * the sha256 of the bytes and their size (the learner always sends both). Anything else is refused before the
   * store is read (a data error naming the field).
   */
  function checkAnnouncement(a: WeightsAnnouncement): void {
    const bad = (field: string, why: string) => new RlmeshError(ErrorCategory.data, `weights announcement v${a.version}: ${field}: ${why}`, { field });
    if (a.runId !== runId) throw bad('run_id', `is "${a.runId.slice(0, 80)}"; this worker serves run "${runId}"`);
    if (!(Number.isSafeInteger(a.version) && a.version >= 1)) throw bad('version', `must be an integer >= 1, got ${String(a.version)}`);
    if (a.bucket !== names.weightsBucket) throw bad('bucket', `is "${a.bucket.slice(0, 80)}"; the run's is "${names.weightsBucket}"`);
    if (a.objectName !== names.weightsObject(a.version)) throw bad('object_name', `is "${a.objectName.slice(0, 80)}"; version ${a.version}'s is "${names.weightsObject(a.version)}"`);
    if (!/^[0-9a-f]{64}$/.test(a.sha256)) throw bad('sha256', 'must be 64 lowercase hex digits (the sha256 of the stored bytes)');
    if (!(Number.isSafeInteger(a.sizeBytes) && a.sizeBytes > 0)) throw bad('size_bytes', `must be an integer > 0, got ${String(a.sizeBytes)}`);
  }

  // Swaps run one at a time; a failed one does not block the next.
  let swapping: Promise<void> = Promise.resolve();
  function apply(a: WeightsAnnouncement): Promise<void> {
    const next = swapping.then(() => swapTo(a));
    swapping = next.catch(() => undefined);
    return next;
  }
  async function swapTo(a: WeightsAnnouncement): Promise<void> {
    if (a.version <= policy.version) return;
    checkAnnouncement(a);
    const { version, sha256 } = a;
    const t0 = performance.now();
    // The object must hold the bytes the learner announced (never an object a learner stored and died before
    // checkpointing, even under an announced version number): refused from its metadata before any chunk is read.
    const { bytes } = await store.get(version, { sha256, sizeBytes: a.sizeBytes });
    const { tensors } = decodeSafetensors(bytes, names.weightsObject(version));
    policy.model.loadWeights(tensors);
    policy.version = version;
    onSwap?.(version, performance.now() - t0);
    for (const w of waiters.splice(0)) {
      if (policy.version >= w.version) w.resolve(); else waiters.push(w);
    }
  }

  /** Logs why an announcement was refused, once in a row (the poll meets the last one again every pollMs). */
  let lastRefused = '';
  function refused(a: WeightsAnnouncement | undefined, e: unknown): void {
    const why = e instanceof Error ? e.message : String(e);
    const key = a ? `${a.version}:${a.sha256}:${why}` : '';
    if (key !== '' && key === lastRefused) return;
    lastRefused = key;
    log(`weights: ignoring announcement: ${why}`);
  }

  // Safety net: a subscription that stalls silently (no error, no end) must not pin an old version either. It reads
  // the last announcement, not the newest object: a version is served only once the learner announced it (after its
  // checkpoint), never an object a learner stored and then died before checkpointing.
  const poll = setInterval(() => {
    void lastAnnouncement(jsm, runId)
      .then((a) => (a && a.version > policy.version ? apply(a).catch((e: unknown) => refused(a, e)) : undefined))
      .catch((e: unknown) => log(`weights: poll failed: ${e instanceof Error ? e.message : String(e)}`));
  }, pollMs);
  poll.unref();

  // Follows the announcements with an ordered consumer that starts at the latest one. When the subscription ends
  // (a long broker outage), it is opened again, so a worker never keeps sampling an old version for good.
  const loop = (async () => {
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(names.stages.weights.stream, { deliver_policy: DeliverPolicy.Last });
        const iter = await consumer.consume();
        messages = iter;
        for await (const m of iter) {
          let a: WeightsAnnouncement | undefined;
          try {
            a = WeightsAnnouncement.decode(m.data);
            await apply(a);
          } catch (e) {
            refused(a, e);
          }
        }
      } catch (e) {
        log(`weights: subscription failed, retrying: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    policy,
    waitFor(version, signal) {
      if (policy.version >= version) return Promise.resolve();
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const waiter = { version, resolve };
        waiters.push(waiter);
        signal?.addEventListener('abort', () => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1); // an abandoned wait is not kept until its version arrives
          reject(signal.reason);
        }, { once: true });
      });
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      await messages?.close();
      await loop;
    },
  };
}
