// Rollout actor wiring: student policy + weight sync, StudentRollout gRPC, and the tasks -> rollouts worker (which
// also holds the teacher's weights when the run's prefixes come from the teacher: mode sft, GKD with seq_kd).
// Run: npx rlmesh serve rollout --port 50051 --config examples/opd.yaml
import { Counter } from 'prom-client';
import { backendInfo } from '../../src/engine/index.ts';
import { StudentRolloutService } from '../../src/generated/rlmesh/v1/rollout.ts';
import type { ActorRuntime } from '../common/runtime.ts';
import { rolloutHandlers } from './grpc.ts';
import { startPolicySync } from './policy-sync.ts';
import { loadPolicy, MAX_BATCH_SEQUENCES, prefixSourceFor, usesTeacherPrefixes } from '../../src/actors/index.ts';
import { pullSizeFor, startRolloutWorker } from './worker.ts';

export async function start(rt: ActorRuntime): Promise<void> {
  const cfg = rt.run.config;
  const policy = await loadPolicy(cfg.student.model);
  const teacher = usesTeacherPrefixes(cfg.objective) && cfg.teacher ? await loadPolicy(cfg.teacher.model) : undefined;
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
    teacher, prefixSource: (groupId) => prefixSourceFor(cfg.objective, groupId),
    tasksPerPull,
    onGroup: (n) => { tokens.inc(n); groups.inc(); },
    onBatch: (b) => { calls.inc(); rows.inc(b.sequences); },
    onError: (e) => rt.log(`worker: ${e instanceof Error ? e.message : String(e)}`),
  });
  rt.onStop(() => sync.stop());
  rt.onStop(() => worker.stop());
}
