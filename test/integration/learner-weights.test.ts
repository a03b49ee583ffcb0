// How a learner's weights reach rollout workers, against the real NATS: the trainer stores a version's object and
// announces it; a same-version object with other bytes (left by a learner that died before its checkpoint) is
// replaced, identical bytes are not stored twice; a rollout worker's PolicySync serves announced versions only, also
// through its polling safety net.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/engine/index.ts';
import { encodeSafetensors } from '../../src/engine/safetensors.ts';
import { compileRunConfig } from '../../src/config/index.ts';
import { Learner, learnerOptionsFor, loadPolicy } from '../../src/actors/index.ts';
import { WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { publishProto, sha256Hex, WeightStore } from '../../src/platform/nats/index.ts';
import { LearnerStateStore } from '../../services/learner/state-store.ts';
import { Trainer } from '../../services/learner/trainer.ts';
import { startPolicySync } from '../../services/rollout/policy-sync.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-learner-weights');

const runConfig = (runId: string) => compileRunConfig({
  run_id: runId, mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
  rollout: { group_size: 2 }, learner: { steps: 3, batch_size: 4 }, objective: { name: 'grpo', params: {} },
});

/** Every announcement on the run's weights stream, in order. */
async function announced(subject: string, stream: string): Promise<WeightsAnnouncement[]> {
  const { state } = await nats.jsm.streams.info(stream);
  const out: WeightsAnnouncement[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m && m.subject === subject) out.push(WeightsAnnouncement.decode(m.data));
  }
  return out;
}

test('the trainer replaces a same-version object with other bytes, stores identical bytes once, and announces after storing', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('lw');
  const runId = names.runId;
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-learner-weights-'));
  const policy = await loadPolicy('models/student');
  try {
    const learner = new Learner(policy.model, learnerOptionsFor(runConfig(runId), policy.tokenizer.padId));
    const weights = await WeightStore.open(nats.js, runId);
    // What a learner that died after storing version 0 but before its checkpoint left: other bytes under version 0.
    const perturbed = new Map([...policy.model.toWeights()].map(([k, t]) => [k, { ...t, data: t.data.map((x) => x + 0.5) }]));
    const leftover = encodeSafetensors(perturbed);
    await weights.put(0, leftover);
    const trainer = new Trainer({
      js: nats.js, runId, learner, tokenizer: policy.tokenizer, store: new LearnerStateStore(dir), weights,
      publishEvery: 1, checkpointEvery: 0, maxSteps: 3, log: () => undefined,
    });
    const expected = sha256Hex(encodeSafetensors(policy.model.toWeights()));
    assert.notEqual(expected, sha256Hex(leftover));

    await trainer.publishWeights();
    const first = await weights.latest();
    assert.equal(first?.version, 0);
    assert.equal(first?.sha256, expected, 'the leftover object was replaced by the learner\'s weights');
    assert.equal(Buffer.from((await weights.get(0)).bytes).equals(Buffer.from(encodeSafetensors(policy.model.toWeights()))), true);

    await trainer.publishWeights(); // the same bytes again: no second put
    const second = await weights.latest();
    assert.equal(second?.mtime, first?.mtime, 'identical bytes are not stored again');

    const all = await announced(names.stages.weights.subject, names.stages.weights.stream);
    assert.ok(all.length >= 1);
    assert.ok(all.every((a) => a.version === 0 && a.sha256 === expected), 'every announcement names the stored bytes');
  } finally {
    policy.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PolicySync serves announced versions only: an unannounced newer object is not loaded by its poll', async () => {
  await initBackend('wasm');
  const names = await nats.newRun('lw-sync');
  const runId = names.runId;
  const policy = await loadPolicy('models/student');
  const sync = await startPolicySync(nats.js, runId, policy, () => undefined, undefined, 100);
  try {
    const weights = await WeightStore.open(nats.js, runId);
    const bytes = encodeSafetensors(policy.model.toWeights());
    await weights.put(2, bytes); // stored, never announced
    await new Promise((r) => setTimeout(r, 600)); // several polls
    assert.equal(policy.version, 0, 'an object without an announcement is not served');

    await publishProto(nats.js, names.stages.weights.subject, WeightsAnnouncement, {
      runId, version: 2, step: 2, bucket: names.weightsBucket, objectName: names.weightsObject(2), sha256: sha256Hex(bytes), sizeBytes: bytes.length,
    }, { msgId: 'weights-v2' });
    await sync.waitFor(2, AbortSignal.timeout(10_000));
    assert.equal(policy.version, 2);
  } finally {
    await sync.stop();
    policy.model.dispose();
  }
});
