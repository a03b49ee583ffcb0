// Verifier actor wiring: VerifierReward gRPC (Verify, ListTasks) and the rollouts -> rewarded worker, sharing one
// task cache; counters on the actor's /metrics. Stateless: any replica takes any message.
// Run: npx rlmesh serve verifier --port 50053 --nats nats://127.0.0.1:4222 --config examples/grpo.yaml
import { Counter, Gauge } from 'prom-client';
import { VerifierRewardService } from '../../src/generated/rlmesh/v1/verifier.ts';
import type { Task } from '../../src/tasks/index.ts';
import type { ActorRuntime } from '../common/runtime.ts';
import { verifierHandlers } from './grpc.ts';
import { startVerifierWorker } from './worker.ts';

export async function start(rt: ActorRuntime): Promise<void> {
  const registers = [rt.metrics.registry];
  const verified = new Counter({ name: 'rlmesh_verifier_verified_total', help: 'completions graded', labelNames: ['source'], registers });
  const correct = new Counter({ name: 'rlmesh_verifier_correct_total', help: 'completions graded correct', labelNames: ['source'], registers });
  const cache = new Map<string, Task>();
  rt.grpc.addService(VerifierRewardService, verifierHandlers({
    weights: rt.run.config.reward.weights,
    cache,
    onVerified: (items, ok) => { verified.inc({ source: 'grpc' }, items); correct.inc({ source: 'grpc' }, ok); },
  }));
  const worker = startVerifierWorker({
    js: rt.js, runId: rt.runId, run: rt.run, cache,
    onVerified: (items, ok) => { verified.inc({ source: 'nats' }, items); correct.inc({ source: 'nats' }, ok); },
    onError: (e) => rt.log(`worker: ${e instanceof Error ? e.message : String(e)}`),
  });
  new Gauge({
    name: 'rlmesh_verifier_worker_messages', help: 'rollouts messages by outcome since start', labelNames: ['outcome'], registers,
    collect() {
      const c = worker.counters;
      this.set({ outcome: 'processed' }, c.processed);
      this.set({ outcome: 'failed' }, c.failed);
      this.set({ outcome: 'dead_lettered' }, c.deadLettered);
      this.set({ outcome: 'redelivered' }, c.redelivered);
    },
  });
  rt.onStop(() => worker.stop());
}
