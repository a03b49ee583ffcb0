// Malformed messages published mid-run to every work stream (tasks, rollouts, rewarded, scored, feedback, metrics),
// plus one decodable message of the wrong type: each is dead-lettered by the actor that consumes it, with its
// reason, source stream/consumer and original bytes; the controller counts them; the run still completes. And a
// decodable TrajectoryBatch on `scored` holding two malformed trajectories: the learner dead-letters each on its own
// (a batch of one, with its reason), and the controller counts dead letters per trajectory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { MetricsEvent, RolloutTask, TaskFeedback, Trajectory, TrajectoryBatch } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, Header, runNames, type Stage } from '../../src/platform/nats/index.ts';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import { RunHarness, type RunStatusView } from './harness.ts';
import { assertAccounting } from './run-checks.ts';

// Field 1 (a string in every one of these messages) claims 16 bytes and has 1: no decoder can read it.
const GARBAGE = Uint8Array.from([0x0a, 0x10, 0x01]);
const TARGETS: Array<{ stage: Stage; consumer: string; type: string }> = [
  { stage: 'tasks', consumer: ConsumerName.rollout, type: 'rlmesh.v1.RolloutTask' },
  { stage: 'rollouts', consumer: ConsumerName.verifier, type: 'rlmesh.v1.TrajectoryBatch' },
  { stage: 'rewarded', consumer: ConsumerName.teacher, type: 'rlmesh.v1.TrajectoryBatch' },
  { stage: 'scored', consumer: ConsumerName.learner, type: 'rlmesh.v1.TrajectoryBatch' },
  { stage: 'feedback', consumer: ConsumerName.controller, type: 'rlmesh.v1.TaskFeedback' },
  { stage: 'metrics', consumer: ConsumerName.gateway, type: 'rlmesh.v1.MetricsEvent' },
];

let h: RunHarness;
let nc: NatsConnection;
let jsm: JetStreamManager;
let final: RunStatusView;
let dead: StoredMsg[] = [];
let spans: SpanRecord[];
const published: Array<{ stream: string; seq: number }> = [];
/** Two trajectories the learner must refuse (a group no dispatch made): NaN sampling log-prob, completion of no tokens. */
const BAD = [
  Trajectory.fromPartial({ trajectoryId: 'dead-bad/0', groupId: 'dead-bad', groupSize: 2, promptTokenIds: [4, 5], completionTokenIds: [6, 7], samplingLogprobs: [Number.NaN, -1] }),
  Trajectory.fromPartial({ trajectoryId: 'dead-bad/1', groupId: 'dead-bad', groupSize: 2, promptTokenIds: [4, 5], completionTokenIds: [] }),
  // Encodes, but no reader can decode it back (an int64 past 2^53): the rest of its batch must not go with it.
  Trajectory.fromPartial({ trajectoryId: 'dead-big/0', groupId: 'dead-big', groupSize: 1, promptTokenIds: [4, 5], completionTokenIds: [6], samplingLogprobs: [-1], policyVersion: 2 ** 60 }),
];
/** Dead letters: one per garbage message, the wrong-type task, and one per bad trajectory. */
const EXPECTED_DEAD = TARGETS.length + 1 + BAD.length;

before(async () => {
  h = await RunHarness.create({ prefix: 'dead', config: { learner: { steps: 4 } } });
  nc = await connect({ servers: h.nats.url });
  jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await h.startAll(2);
  await h.waitFor((s) => s.step >= 1, 'learner step 1');
  const names = runNames(h.runId);
  for (const t of TARGETS) {
    const hd = natsHeaders();
    hd.set(Header.type, t.type);
    hd.set(Header.msgId, `garbage-${t.stage}`);
    const ack = await js.publish(names.stages[t.stage].subject, GARBAGE, { headers: hd });
    published.push({ stream: ack.stream, seq: ack.seq });
  }
  // Decodable, but a TaskFeedback sent where rollout workers expect a RolloutTask.
  const wrong = natsHeaders();
  wrong.set(Header.type, 'rlmesh.v1.TaskFeedback');
  wrong.set(Header.msgId, 'wrong-type-tasks');
  await js.publish(names.stages.tasks.subject, TaskFeedback.encode(TaskFeedback.fromPartial({ runId: h.runId, taskId: 'x' })).finish(), { headers: wrong });
  // Decodable, two malformed trajectories inside.
  const bad = natsHeaders();
  bad.set(Header.type, 'rlmesh.v1.TrajectoryBatch');
  bad.set(Header.msgId, 'bad-batch:teacher');
  await js.publish(names.stages.scored.subject, TrajectoryBatch.encode({ trajectories: BAD }).finish(), { headers: bad });

  const deadStream = names.stages.dead.stream;
  for (let i = 0; i < 240; i++) {
    if ((await jsm.streams.info(deadStream)).state.messages >= EXPECTED_DEAD) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const n = (await jsm.streams.info(deadStream)).state.messages;
  const stored = await Promise.all(Array.from({ length: n }, (_, i) => jsm.streams.getMessage(deadStream, { seq: i + 1 })));
  dead = stored.filter((m): m is StoredMsg => m !== null);
  final = await h.waitFinished(180_000);
  await h.stopAll();
  spans = h.spans();
});

after(async () => {
  await nc?.close();
  await h?.destroy();
});

test('the garbage payload is undecodable for every message type involved', () => {
  for (const type of [RolloutTask, Trajectory, TrajectoryBatch, TaskFeedback, MetricsEvent]) assert.throws(() => type.decode(GARBAGE));
});

test('each malformed message is dead-lettered by its consumer with a reason and its original bytes', () => {
  assert.equal(dead.length, EXPECTED_DEAD, `dead letters: ${dead.map((m) => m.header?.get(Header.msgId)).join(', ')}`);
  const names = runNames(h.runId);
  const byId = new Map(dead.map((m) => [m.header?.get(Header.msgId) ?? '', m]));
  for (const t of TARGETS) {
    const m = byId.get(`garbage-${t.stage}`);
    assert.ok(m, `dead letter of the ${t.stage} message`);
    assert.equal(m.header!.get(Header.deadStream), names.stages[t.stage].stream);
    assert.equal(m.header!.get(Header.deadConsumer), t.consumer);
    assert.equal(m.header!.get(Header.deadSubject), names.stages[t.stage].subject);
    assert.equal(m.header!.get(Header.deadDeliveries), '1', 'undecodable: dead-lettered on the first delivery');
    assert.match(m.header!.get(Header.deadReason), /payload.*cannot decode|cannot decode/i);
    assert.deepEqual([...m.data], [...GARBAGE]);
    assert.equal(m.header!.get(Header.type), t.type, 'original headers travel along');
  }
  const w = byId.get('wrong-type-tasks');
  assert.ok(w, 'dead letter of the wrong-type message');
  assert.equal(w.header!.get(Header.deadConsumer), ConsumerName.rollout);
  assert.match(w.header!.get(Header.deadReason), /expected rlmesh\.v1\.RolloutTask, message says rlmesh\.v1\.TaskFeedback/);
});

test('each malformed trajectory of a decodable batch is dead-lettered on its own, with its reason and content', () => {
  const names = runNames(h.runId);
  const reasons: Record<string, RegExp> = {
    'dead-bad/0': /sampling_logprobs.*finite/, 'dead-bad/1': /completion_token_ids.*must not be empty/, 'dead-big/0': /not a Trajectory.*MAX_SAFE_INTEGER/,
  };
  for (const t of BAD) {
    const m = dead.find((d) => d.header?.get(Header.msgId) === `${t.trajectoryId}:learner:dead`);
    assert.ok(m, `dead letter of ${t.trajectoryId}`);
    assert.deepEqual([...m.data], [...TrajectoryBatch.encode({ trajectories: [t] }).finish()], 'a batch of one, its original bytes');
    assert.equal(m.header!.get(Header.type), 'rlmesh.v1.TrajectoryBatch');
    assert.equal(m.header!.get(Header.deadConsumer), ConsumerName.learner);
    assert.equal(m.header!.get(Header.deadStream), names.stages.scored.stream);
    assert.match(m.header!.get(Header.deadReason), reasons[t.trajectoryId]!);
  }
});

test('the controller counts the dead letters, the run completes and its groups add up', async () => {
  assert.equal(final.state, 'finished');
  assert.equal(final.step, 4);
  assert.equal(final.accounting.deadLettered, EXPECTED_DEAD, `counted per trajectory: the bad batch counts ${BAD.length}`);
  assertAccounting(h, final, spans);
  // Work streams are work queues: the dead-lettered originals are removed from them.
  for (const p of published) {
    const left = await jsm.streams.getMessage(p.stream, { seq: p.seq }).catch(() => null);
    assert.equal(left, null, `${p.stream} #${p.seq} is gone`);
  }
});
