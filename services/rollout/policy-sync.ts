// Keeps a rollout worker's student weights current: loads the initial checkpoint, then follows the run's
// weights announcements and swaps in each newer version from the object store (never mid-sequence: generation
// is synchronous, so a swap happens between groups).
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { decodeSafetensors } from '../../src/engine/safetensors.ts';
import type { Policy } from '../../src/actors/index.ts';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { runNames, WeightStore } from '../../src/platform/nats/index.ts';

export interface PolicySync {
  policy: Policy;
  /** Resolves once the worker serves at least `version`. */
  waitFor(version: number, signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export async function startPolicySync(js: JetStreamClient, runId: string, policy: Policy, log: (m: string) => void, onSwap?: (v: number, ms: number) => void): Promise<PolicySync> {
  const names = runNames(runId);
  const store = await WeightStore.open(js, runId);
  const waiters: Array<{ version: number; resolve: () => void }> = [];
  const consumer = await js.consumers.get(names.stages.weights.stream, { deliver_policy: DeliverPolicy.Last });
  const messages = await consumer.consume();
  const loop = (async () => {
    for await (const m of messages) {
      try {
        const a = WeightsAnnouncement.decode(m.data);
        if (a.version <= policy.version) continue;
        const t0 = performance.now();
        const { bytes } = await store.get(a.version);
        const { tensors } = decodeSafetensors(bytes, names.weightsObject(a.version));
        policy.model.loadWeights(tensors);
        policy.version = a.version;
        onSwap?.(a.version, performance.now() - t0);
        for (const w of waiters.splice(0)) {
          if (policy.version >= w.version) w.resolve(); else waiters.push(w);
        }
      } catch (e) {
        log(`weights: ignoring announcement: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  })();
  return {
    policy,
    waitFor(version, signal) {
      if (policy.version >= version) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ version, resolve });
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
    async stop() {
      await messages.close();
      await loop;
    },
  };
}
