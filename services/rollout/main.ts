// Rollout actor wiring: student policy + weight sync, StudentRollout gRPC, and the tasks -> rollouts worker.
// Run: npx rlmesh serve rollout --port 50051 --config examples/opd.yaml
import { Counter } from 'prom-client';
import { backendInfo } from '../../src/engine/index.ts';
import { StudentRolloutService } from '../../src/generated/rlmesh/v1/rollout.ts';
import type { ActorRuntime } from '../common/runtime.ts';
import { rolloutHandlers } from './grpc.ts';
import { startPolicySync } from './policy-sync.ts';
import { loadPolicy, MAX_BATCH_SEQUENCES } from '../../src/actors/index.ts';
import { pullSizeFor, startRolloutWorker } from './worker.ts';

export async function start(rt: ActorRuntime): Promise<void> {
  const policy = await loadPolicy(rt.run.config.student.model);
  const tokens = new Counter({ name: 'rlmesh_rollout_tokens_total', help: 'completion tokens generated', registers: [rt.metrics.registry] });
  const groups = new Counter({ name: 'rlmesh_rollout_groups_total', help: 'task groups sampled', registers: [rt.metrics.registry] });
  const sync = await startPolicySync({
    js: rt.js, jsm: rt.jsm, runId: rt.runId, replicas: rt.run.config.nats.replicas, policy, log: rt.log, onSwap: (v, ms) => rt.log(`serving policy v${v} (swap ${ms.toFixed(0)} ms)`),
  });
  rt.grpc.addService(StudentRolloutService, rolloutHandlers(policy, rt.runId, rt.options.workerId, backendInfo()?.name ?? 'unknown'));
  const calls = new Counter({ name: 'rlmesh_rollout_generate_calls_total', help: 'batched generate calls (one or more task groups each)', registers: [rt.metrics.registry] });
  const rows = new Counter({ name: 'rlmesh_rollout_sequences_total', help: 'sequences (generate rows) sampled', registers: [rt.metrics.registry] });
  const r = rt.run.config.rollout;
  const tasksPerPull = pullSizeFor({ groupSize: r.group_size, maxInFlight: r.max_in_flight, workers: r.workers });
  rt.log(`worker pulls ${tasksPerPull} task(s) at once, <= ${MAX_BATCH_SEQUENCES} sequences per generate call`);
  const worker = startRolloutWorker({
    js: rt.js, runId: rt.runId, workerId: rt.options.workerId, policy, waitForPolicy: (v, signal) => sync.waitFor(v, signal),
    tasksPerPull,
    onGroup: (n) => { tokens.inc(n); groups.inc(); },
    onBatch: (b) => { calls.inc(); rows.inc(b.sequences); },
    onError: (e) => rt.log(`worker: ${e instanceof Error ? e.message : String(e)}`),
  });
  rt.onStop(() => sync.stop());
  rt.onStop(() => worker.stop());
}
