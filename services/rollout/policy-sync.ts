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
  policy: Policy;
  log: (m: string) => void;
  onSwap?: (v: number, ms: number) => void;
  /** how often the last announcement is read besides the subscription (the safety net below); default 5000 ms */
  pollMs?: number;
}

export async function startPolicySync({ js, jsm, runId, policy, log, onSwap, pollMs = 5000 }: PolicySyncDeps): Promise<PolicySync> {
  const names = runNames(runId);
  const store = await WeightStore.open(js, runId);
  const waiters: Array<{ version: number; resolve: () => void }> = [];
  let stopped = false;
  let messages: { close(): Promise<void | Error> } | undefined;

  // Swaps run one at a time; a failed one does not block the next.
  let swapping: Promise<void> = Promise.resolve();
  function apply(a: Pick<WeightsAnnouncement, 'version' | 'sha256'>): Promise<void> {
    const next = swapping.then(() => swapTo(a));
    swapping = next.catch(() => undefined);
    return next;
  }
  async function swapTo({ version, sha256 }: Pick<WeightsAnnouncement, 'version' | 'sha256'>): Promise<void> {
    if (version <= policy.version) return;
    const t0 = performance.now();
    const { bytes, info } = await store.get(version);
    // The object must hold the bytes the learner announced (never an object a learner stored and died before
    // checkpointing, even under an announced version number).
    if (sha256 !== '' && info.sha256 !== sha256) {
      throw new RlmeshError(ErrorCategory.data, `weights v${version}: stored sha256 ${info.sha256} is not the announced ${sha256}`, { field: 'sha256' });
    }
    const { tensors } = decodeSafetensors(bytes, names.weightsObject(version));
    policy.model.loadWeights(tensors);
    policy.version = version;
    onSwap?.(version, performance.now() - t0);
    for (const w of waiters.splice(0)) {
      if (policy.version >= w.version) w.resolve(); else waiters.push(w);
    }
  }

  // Safety net: a subscription that stalls silently (no error, no end) must not pin an old version either. It reads
  // the last announcement, not the newest object: a version is served only once the learner announced it (after its
  // checkpoint), never an object a learner stored and then died before checkpointing.
  const poll = setInterval(() => {
    void lastAnnouncement(jsm, runId)
      .then((a) => (a && a.version > policy.version ? apply(a) : undefined))
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
          try {
            await apply(WeightsAnnouncement.decode(m.data));
          } catch (e) {
            log(`weights: ignoring announcement: ${e instanceof Error ? e.message : String(e)}`);
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
        waiters.push({ version, resolve });
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
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
