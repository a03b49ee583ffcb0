// Learner actor wiring: student + AdamW (resumed from runs/<id>/checkpoints/latest when present), LearnerUpdate
// gRPC, and the scored/rewarded -> step worker that publishes weights, metrics and curriculum feedback.
// Run: npx rlmesh serve learner --port 50054 --config examples/opd.yaml
import { EventEmitter } from 'node:events';
import { Counter, Gauge } from 'prom-client';
import { evaluatePolicy, Learner, learnerOptionsFor, loadPolicy } from '../../src/actors/index.ts';
import { listTasks } from '../../src/tasks/index.ts';
import { LearnerUpdateService } from '../../src/generated/rlmesh/v1/learner.ts';
import { lastAnnouncement, waitForRun, WeightStore } from '../../src/platform/nats/index.ts';
import { invalidField } from '../../src/errors.ts';
import type { ActorRuntime } from '../common/runtime.ts';
import { runDir } from '../common/run-dir.ts';
import { learnerHandlers } from './grpc.ts';
import { LearnerStateStore } from './state-store.ts';
import { Trainer } from './trainer.ts';
import { failpointTrigger, parseFailpoints } from './failpoints.ts';
import { startLearnerWorker } from './worker.ts';

export async function start(rt: ActorRuntime): Promise<void> {
  const cfg = rt.run.config;
  const failpoints = parseFailpoints(process.env.RLMESH_FAILPOINTS); // test-only crash points, read once
  if (failpoints.size > 0) rt.log(`failpoints armed: ${[...failpoints].map(([n, s]) => `${n}:${s}`).join(', ')}`);
  const policy = await loadPolicy(cfg.student.model);
  const learner = new Learner(policy.model, learnerOptionsFor(rt.run, policy.tokenizer.padId));
  const store = new LearnerStateStore(runDir(rt.runId));
  if (await store.recover()) rt.log(`put back the checkpoint an interrupted save had set aside (${store.dir})`);
  if (store.exists()) {
    await store.restore(learner);
    rt.log(`resumed from ${store.dir} at step ${learner.step} (policy v${learner.policyVersion}, ${store.trained.size} trained ids)`);
  }
  // The gateway creates the run's streams; a learner started first (any start order on a cluster) waits for them.
  await waitForRun(rt.jsm, rt.runId, { log: rt.log });
  // Rollout workers never go back to an older version: a learner behind the run's announced weights (its checkpoint
  // folder lost or replaced) would refuse every trajectory as ahead of it. Stop with the reason instead.
  const announced = await lastAnnouncement(rt.jsm, rt.runId);
  if (announced && announced.version > learner.policyVersion) {
    throw invalidField('learner', `run ${rt.runId} already announced weights v${announced.version}, but this learner starts at v${learner.policyVersion} (${store.exists() ? `its checkpoint in ${store.dir} is older` : `no checkpoint in ${store.dir}`}): resume with the run's checkpoints, or start a new run id`);
  }
  const weights = await WeightStore.open(rt.js, rt.runId, { replicas: cfg.nats.replicas });
  const steps = new Counter({ name: 'rlmesh_learner_steps_total', help: 'optimizer steps', registers: [rt.metrics.registry] });
  const stale = new Counter({ name: 'rlmesh_learner_dropped_stale_total', help: 'trajectories dropped as stale', registers: [rt.metrics.registry] });
  const version = new Gauge({ name: 'rlmesh_learner_policy_version', help: 'current policy version', registers: [rt.metrics.registry] });
  const events = new EventEmitter();
  const heldoutTasks = listTasks({ suite: cfg.tasks.suite, split: 'heldout', limit: cfg.eval.heldout_size, seed: cfg.seed });
  const trainer = new Trainer({
    js: rt.js, runId: rt.runId, learner, tokenizer: policy.tokenizer, store, weights,
    publishEvery: cfg.learner.publish_every, checkpointEvery: cfg.learner.checkpoint_every, maxSteps: cfg.learner.steps,
    log: rt.log, failpoint: failpointTrigger(failpoints, rt.log), filter: rt.run.createBatchFilter(), onFatal: (e) => rt.fail(e),
    heldout: {
      every: cfg.eval.every,
      entropyEvery: rt.run.heldoutEntropyEvery,
      measure: () => {
        const e = evaluatePolicy({ ...policy, version: learner.policyVersion }, heldoutTasks, { k: 1, temperature: 0, maxNewTokens: cfg.rollout.sampling.max_new_tokens });
        return { accuracy: e.report.overall.accuracy, entropy: e.meanEntropy };
      },
    },
    onStep: (outcome, event) => {
      steps.inc();
      stale.inc(outcome.droppedStale.length);
      version.set(learner.policyVersion);
      events.emit('step', event);
    },
  });
  // Announce the version this learner serves (a restarted learner re-announces its resumed weights).
  await trainer.publishWeights();
  // A learner that died after its last checkpoint may not have sent that step's feedback and metrics: send them again
  // (the same Nats-Msg-Ids, so what already arrived is dropped as a duplicate).
  const resent = await trainer.flushOutbox();
  if (resent > 0) rt.log(`re-published ${resent} outbox messages of step ${learner.step}`);
  rt.grpc.addService(LearnerUpdateService, learnerHandlers(trainer, events, rt.runId, cfg.objective.name));
  const worker = startLearnerWorker({
    js: rt.js, runId: rt.runId, trainer, batchSize: cfg.learner.batch_size, withTeacher: rt.run.mode.needsTeacher,
    onError: (e) => rt.log(`worker: ${e instanceof Error ? e.message : String(e)}`),
  });
  rt.onStop(() => worker.stop());
}
