// SIGKILL of the learner mid-run and a restart with the same arguments: the new process resumes from
// runs/<id>/checkpoints/latest at the checkpoint's step with the same weights and AdamW moments, and the run
// completes with every step counted once. The teacher is paused (SIGSTOP) around the restart so the learner
// cannot step before its resumed state has been read back (< one batch of trajectories is left for it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { LearnerUpdateClient } from '../../src/generated/rlmesh/v1/learner.ts';
import { callUnary, createGrpcClient } from '../../src/platform/grpc/index.ts';
import { ConsumerName, runNames } from '../../src/platform/nats/index.ts';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import { RunHarness, type RunStatusView, type TrainerStateView } from './harness.ts';
import { assertAccounting, assertTrainedOnce } from './run-checks.ts';

const STEPS = 6;
let h: RunHarness;
let nc: NatsConnection;
let jsm: JetStreamManager;
let killedAt: TrainerStateView;
let killedFiles: { moments: Buffer; weights: Buffer };
let resumed: { state: { step: number; policyVersion: number; trained: number }; saved: TrainerStateView; moments: Buffer; weights: Buffer };
let waitingForLearner = 0;
let final: RunStatusView;
let spans: SpanRecord[];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ckptFiles = (dir: string) => ({ moments: readFileSync(path.join(dir, 'trainer_state.safetensors')), weights: readFileSync(path.join(dir, 'model.safetensors')) });

/** Learner consumer backlog on the scored stream: not yet delivered, and delivered but unacknowledged. */
async function learnerBacklog(): Promise<{ pending: number; ackPending: number }> {
  const info = await jsm.consumers.info(runNames(h.runId).stages.scored.stream, ConsumerName.learner);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

before(async () => {
  h = await RunHarness.create({ prefix: 'lrestart', config: { learner: { steps: STEPS }, rollout: { max_in_flight: 2 } } });
  nc = await connect({ servers: h.nats.url });
  jsm = await jetstreamManager(nc);
  await h.startAll(2);
  await h.waitFor((s) => s.step >= 2, 'learner step 2');

  // Freeze the teacher, then let the learner consume what already reached it and go idle.
  h.signal('teacher', 'SIGSTOP');
  let last = -1;
  for (let stable = 0; stable < 3;) {
    const [s, b] = [await h.status(), await learnerBacklog()];
    stable = s.step === last && b.pending === 0 ? stable + 1 : 0;
    last = s.step;
    await sleep(1000);
  }
  await h.kill('learner');
  killedAt = h.trainerState();
  killedFiles = ckptFiles(path.join(h.runDir, 'checkpoints', 'latest'));
  const b = await learnerBacklog();
  waitingForLearner = b.pending + b.ackPending;

  await h.startActor('learner'); // same arguments as the first start
  const client = createGrpcClient(LearnerUpdateClient, `127.0.0.1:${h.processes.get('learner')!.grpcPort}`, { deadlineMs: 60_000, retries: 0 });
  try {
    const st = await callUnary(client, 'getState', {});
    // SaveCheckpoint only writes inside the run's checkpoints folder (a relative name).
    const saved = await callUnary(client, 'saveCheckpoint', { path: 'resumed' });
    const dir = path.join(h.runDir, 'checkpoints', 'resumed');
    assert.equal(saved.path, dir);
    resumed = {
      state: { step: Number(st.step), policyVersion: Number(st.policyVersion), trained: Number(st.trajectoriesTrained) },
      saved: h.trainerState(dir), ...ckptFiles(dir),
    };
  } finally {
    client.close();
  }
  h.signal('teacher', 'SIGCONT');
  final = await h.waitFinished(180_000);
  await h.stopAll();
  spans = h.spans();
});

after(async () => {
  await nc?.close();
  await h?.destroy();
});

test('the restarted learner resumes at the checkpoint step with the same weights and optimizer moments', () => {
  assert.ok(killedAt.step >= 2 && killedAt.step < STEPS, `killed at step ${killedAt.step}`);
  assert.ok(waitingForLearner < 8, `${waitingForLearner} trajectories waited for the learner (< one batch, so no step ran before the read-back)`);
  assert.match(h.log('learner.1'), new RegExp(`resumed from .*checkpoints/latest at step ${killedAt.step} \\(policy v${killedAt.policy_version}`));
  assert.equal(resumed.state.step, killedAt.step, 'GetState step = checkpoint step');
  assert.equal(resumed.state.policyVersion, killedAt.policy_version);
  assert.equal(resumed.state.trained, killedAt.rng?.trained);
  assert.equal(resumed.saved.step, killedAt.step);
  assert.deepEqual(resumed.saved.rng?.trainedIds, killedAt.rng?.trainedIds);
  assert.ok(resumed.moments.equals(killedFiles.moments), 'AdamW moments (trainer_state.safetensors) restored byte for byte');
  assert.ok(resumed.weights.equals(killedFiles.weights), 'weights restored byte for byte');
  assert.ok(killedFiles.moments.length > 1000, 'the checkpoint holds the moment tensors');
});

test('the run completes with each step counted once across both learner processes', () => {
  assert.equal(final.state, 'finished');
  assert.equal(final.step, STEPS);
  assert.equal(h.trainerState().step, STEPS);
  const learnerSteps = h.metricsLines().filter((m) => m.source === 'learner').map((m) => Number(m.step)).sort((a, b) => a - b);
  assert.deepEqual(learnerSteps, Array.from({ length: STEPS }, (_, i) => i + 1));
  const trained = spans.filter((s) => s.name === 'learner.step' && Number(s.attributes['rlmesh.trained']) > 0);
  const versions = trained.map((s) => Number(s.attributes['rlmesh.policy_version'])).sort((a, b) => a - b);
  assert.deepEqual(versions, Array.from({ length: STEPS }, (_, i) => i + 1), 'one training step span per version');
  const pids = new Set(trained.map((s) => s.pid));
  assert.equal(pids.size, 2, 'steps ran in the first and in the restarted learner');
  assert.ok(trained.filter((s) => s.pid === h.processes.get('learner')!.pid).every((s) => Number(s.attributes['rlmesh.policy_version']) > killedAt.step));
  assertTrainedOnce(h, spans);
  assertAccounting(h, final, spans);
});
