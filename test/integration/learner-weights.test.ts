// How a learner's weights reach rollout workers, against the real NATS: the trainer stores a version's object and
// announces it; a same-version object with other bytes (left by a learner that died before its checkpoint) is
// replaced, identical bytes are not stored twice (also by a new process); a rollout worker's PolicySync serves
// announced versions only (its polling safety net reads announcements, and an object whose sha256 is not the
// announced one is refused).
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
import { lastAnnouncement } from '../../src/platform/nats/index.ts';
import { storedAnnouncements, useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-learner-weights');

const runConfig = (runId: string) => compileRunConfig({
  run_id: runId, mode: 'rlvr', student: { model: 'models/student' }, tasks: { suite: 'add:1-2' },
  rollout: { group_size: 2 }, learner: { steps: 3, batch_size: 4 }, objective: { name: 'grpo', params: {} },
});

test('the trainer replaces a same-version object with other bytes, stores identical bytes once, and announces what it stored', async () => {
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
    /** Counts the puts a store makes. */
    const counted = (store: WeightStore): { puts: number } => {
      const c = { puts: 0 };
      const put = store.put.bind(store);
      store.put = (...args) => { c.puts++; return put(...args); };
      return c;
    };
    const puts = counted(weights);

    await trainer.publishWeights();
    const first = await weights.latest();
    assert.equal(first?.version, 0);
    assert.equal(first?.sha256, expected, 'the leftover object was replaced by the learner\'s weights');
    assert.equal(puts.puts, 1);
    assert.equal(Buffer.from((await weights.get(0)).bytes).equals(Buffer.from(encodeSafetensors(policy.model.toWeights()))), true);

    await trainer.publishWeights(); // the same bytes again: no second put
    const second = await weights.latest();
    assert.equal(second?.mtime, first?.mtime, 'identical bytes are not stored again');
    assert.equal(puts.puts, 1, 'no second put');
    // a restarted learner (a new Trainer) re-announcing its checkpoint asks the store and finds the same bytes
    const restartedStore = await WeightStore.open(nats.js, runId);
    const restartedPuts = counted(restartedStore);
    const restarted = new Trainer({ ...trainer.deps, weights: restartedStore });
    await restarted.publishWeights();
    assert.equal(restartedPuts.puts, 0, 'a new process finds the same bytes stored and does not put them');
    assert.equal((await weights.latest())?.mtime, first?.mtime, 'a new process does not store identical bytes again');

    const all = await storedAnnouncements(nats.jsm, runId);
    assert.ok(all.length >= 1);
    assert.equal(all.length, 1, 'the repeated announcements of v0 share one Nats-Msg-Id');
    assert.ok(all.every((a) => a.version === 0 && a.sha256 === expected), 'every announcement names the stored bytes');
  } finally {
    policy.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A PolicySync serving models/student on a fresh run, its log lines, and announcements as the learner sends them. */
async function syncOnFreshRun(prefix: string) {
  await initBackend('wasm');
  const names = await nats.newRun(prefix);
  const runId = names.runId;
  const policy = await loadPolicy('models/student');
  const logs: string[] = [];
  const sync = await startPolicySync({ js: nats.js, jsm: nats.jsm, runId, policy, log: (m) => logs.push(m), pollMs: 100 });
  const announcement = (version: number, sha256: string, sizeBytes: number) => ({
    runId, version, step: version, bucket: names.weightsBucket, objectName: names.weightsObject(version), sha256, sizeBytes,
  });
  const announce = (a: ReturnType<typeof announcement>, msgId: string) => publishProto(nats.js, names.stages.weights.subject, WeightsAnnouncement, a, { msgId });
  const stop = async () => { await sync.stop(); policy.model.dispose(); };
  return { names, runId, policy, logs, sync, announcement, announce, stop };
}

test('PolicySync serves announced versions only: its poll skips an unannounced object, an object with another sha256 is refused', async () => {
  const { runId, policy, logs, sync, announcement, announce: publish, stop } = await syncOnFreshRun('lw-sync');
  assert.equal(await lastAnnouncement(nats.jsm, runId), null, 'no announcement yet');
  const announce = (version: number, sha256: string, size: number) => publish(announcement(version, sha256, size), `weights-v${version}-${sha256.slice(0, 8)}`);
  try {
    const weights = await WeightStore.open(nats.js, runId);
    const bytes = encodeSafetensors(policy.model.toWeights());
    await weights.put(2, bytes); // stored, never announced
    await new Promise((r) => setTimeout(r, 600)); // several polls
    assert.equal(policy.version, 0, 'an object without an announcement is not served');

    // an announcement naming other bytes than the object holds is refused: the worker keeps its version
    await announce(2, 'ab'.repeat(32), bytes.length);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(policy.version, 0);
    // refused from the object's metadata, and said once although the subscription and ~6 polls all met it
    assert.equal(logs.filter((l) => /ignoring announcement: weights policy-v2\.safetensors: stored sha256 [0-9a-f]{64} is not the expected abab/.test(l)).length, 1, logs.join('\n'));

    await announce(2, sha256Hex(bytes), bytes.length);
    await sync.waitFor(2, AbortSignal.timeout(10_000));
    assert.equal(policy.version, 2);
    assert.equal((await lastAnnouncement(nats.jsm, runId))?.sha256, sha256Hex(bytes), 'the poll reads the last announcement');
    // nothing failed the poll (a wrong stream or subject would, every time)
    assert.deepEqual(logs.filter((l) => /poll failed/.test(l)), [], 'every poll succeeded');
  } finally {
    await stop();
  }
});

test('PolicySync refuses an announcement of another run, bucket or object, without a digest, or of another size, naming the field', async () => {
  const { names, runId, policy, logs, sync, announcement, announce, stop } = await syncOnFreshRun('lw-bad-ann');
  try {
    const bytes = encodeSafetensors(policy.model.toWeights());
    await (await WeightStore.open(nats.js, runId)).put(3, bytes);
    const good = announcement(3, sha256Hex(bytes), bytes.length);
    const cases: Array<[Partial<typeof good>, string]> = [
      [{ runId: 'another-run' }, 'run_id'],
      [{ bucket: 'rlmesh-weights-another-run' }, 'bucket'],
      [{ objectName: names.weightsObject(2) }, 'object_name'],
      [{ sha256: '' }, 'sha256'],
      [{ sizeBytes: 1 }, 'size_bytes'],
    ];
    for (const [i, [patch, field]] of cases.entries()) {
      await announce({ ...good, ...patch }, `bad-${i}`);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(policy.version, 0, `${field}: the worker keeps its version`);
      assert.ok(logs.some((l) => l.includes(`ignoring announcement: weights`) && l.includes(`${field}`)), `${field}: ${logs.join('\n')}`);
    }
    await announce(good, 'good');
    await sync.waitFor(3, AbortSignal.timeout(10_000));
    assert.equal(policy.version, 3, 'the announcement as the learner sends it is served');
  } finally {
    await stop();
  }
});
