// The learner (`rlmesh serve learner`, a real process on the real NATS) splits TrajectoryBatch messages into
// trajectories and acks a message only when all of them settled; redeliveries never train anything twice:
// - a message redelivered while its trajectories wait for a batch (ack_wait ran out) joins the waiting copies;
// - a message whose trajectories were partly trained in one step and partly wait for the next stays unacked;
// - a batch repeated after its step (a lost ack) is acked with every trajectory skipped as already trained.
// A GRPO run with no teacher: the learner consumes `rewarded`, batches of 8 = two groups of 4.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MetricsEvent, Trajectory, TrajectoryBatch } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, provisionRun, publishProto, redeliveriesOf, runNames, type RunNames } from '../../src/platform/nats/index.ts';
import type { SpanRecord } from '../../src/platform/telemetry/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { readMessages } from '../fixtures/nats-session.ts';
import { RunHarness, type TrainerStateView } from './harness.ts';

const ACK_WAIT_MS = 1500;
let h: RunHarness;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let names: RunNames;
let redeliveredWhileWaiting = 0;
let steps: MetricsEvent[] = [];
let state: TrainerStateView;
let spans: SpanRecord[];

const task = toTaskSpec(listTasks({ suite: 'add:1', split: 'train', limit: 1, seed: 5 })[0]!);

/** Sample i of group g (groups of 4): a well-formed rewarded trajectory, half of each group correct. */
function sample(g: string, i: number): Trajectory {
  return Trajectory.fromPartial({
    trajectoryId: `${g}/${i}`, runId: h.runId, taskId: task.taskId, groupId: g, sampleIndex: i, groupSize: 4, task,
    promptTokenIds: [1, 10, 11, 12], completionTokenIds: [13 + i, 14, 2], samplingLogprobs: [-1.2, -0.8, -0.5],
    modelLogprobs: [-1.2, -0.8, -0.5], entropies: [1, 1, 1], policyVersion: 0,
    reward: { total: i % 2, components: { correctness: i % 2 }, correct: i % 2 === 1, parsedAnswer: '', reason: '', formatOk: true },
  });
}
const group = (g: string) => [0, 1, 2, 3].map((i) => sample(g, i));
const publishBatch = (ts: Trajectory[], msgId: string) => publishProto(js, names.stages.rewarded.subject, TrajectoryBatch, { trajectories: ts }, { msgId });
const learnerConsumer = () => jsm.consumers.info(names.stages.rewarded.stream, ConsumerName.learner);

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what} within ${limitMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const nextStep = async () => MetricsEvent.decode((await readMessages(js, names.stages.metrics.stream, ConsumerName.gateway, 1, 60_000))[0]!.data);

before(async () => {
  h = await RunHarness.create({
    prefix: 'lredeliv',
    config: {
      mode: 'rlvr', teacher: null, objective: { name: 'grpo', params: { eps_low: 0.2, eps_high: 0.2, kl_coef: 0 } },
      learner: { steps: 2, batch_size: 8 }, eval: { every: 0 },
    },
  });
  nc = await connect({ servers: h.nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  names = runNames(h.runId);
  // What the gateway would provision, with an ack_wait the learner's keep-alive (every 5 s) does not cover.
  await provisionRun(jsm, h.runId, { withTeacher: false, ackWaitMs: ACK_WAIT_MS, maxDeliver: 50 });
  await h.startActor('learner');

  // M1: group a whole and half of group b. 6 < 8 trajectories: they wait, and M1 is redelivered meanwhile.
  await publishBatch([...group('a'), sample('b', 0), sample('b', 1)], 'm1');
  redeliveredWhileWaiting = await until('M1 redelivered while it waits', async () => {
    const n = redeliveriesOf(await learnerConsumer());
    return n >= 2 ? n : undefined;
  });
  // M2: the rest of group b and group c. Step 1 trains a + b (8); M2's c waits for step 2, so M2 stays unacked.
  await publishBatch([sample('b', 2), sample('b', 3), ...group('c')], 'm2');
  steps.push(await nextStep());
  // M1 again after its step (as after a lost ack): every trajectory is skipped as trained and the message acked.
  await publishBatch([...group('a'), sample('b', 0), sample('b', 1)], 'm1-again');
  // (before() fails here unless the repeat is acked: the test below relies on it)
  await until('only M2 left on rewarded (M1 and its repeat acked)', async () =>
    (await jsm.streams.info(names.stages.rewarded.stream)).state.messages === 1 ? true : undefined);
  // M3: group d. Step 2 trains c + d; then M2 and M3 are acked too.
  await publishBatch(group('d'), 'm3');
  steps.push(await nextStep());
  await until('rewarded drained', async () => {
    const ci = await learnerConsumer();
    return (await jsm.streams.info(names.stages.rewarded.stream)).state.messages === 0 && ci.num_ack_pending === 0 ? true : undefined;
  });
  await h.stopAll();
  state = h.trainerState();
  spans = h.spans();
});

after(async () => {
  await nc?.close();
  await h?.destroy();
});

test('a batch redelivered while waiting, or repeated after its step, is never trained twice', () => {
  assert.ok(redeliveredWhileWaiting >= 2, `M1 was redelivered (${redeliveredWhileWaiting}) while its trajectories waited`);
  assert.deepEqual(steps.map((s) => s.step), [1, 2]);
  assert.deepEqual(steps.map((s) => s.values.trained_total), [8, 16], 'two steps of 8');
  const ids = state.rng?.trainedIds ?? [];
  assert.deepEqual([...ids].sort(), ['a', 'b', 'c', 'd'].flatMap((g) => [0, 1, 2, 3].map((i) => `${g}/${i}`)).sort());
  assert.equal(state.rng?.trained, 16, 'each trajectory trained exactly once');
  assert.equal(state.step, 2);
});

test('each learner.step links the ingest spans of its 8 trajectories; redelivered copies have spans of their own', () => {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const stepSpans = spans.filter((s) => s.name === 'learner.step' && Number(s.attributes['rlmesh.trained']) > 0);
  assert.equal(stepSpans.length, 2);
  const linked = stepSpans.map((s) => s.links.map((l) => String(byId.get(l.spanId)?.attributes['rlmesh.trajectory_id'])).sort());
  assert.deepEqual(linked, [
    ['a', 'b'].flatMap((g) => [0, 1, 2, 3].map((i) => `${g}/${i}`)).sort(),
    ['c', 'd'].flatMap((g) => [0, 1, 2, 3].map((i) => `${g}/${i}`)).sort(),
  ]);
  const ingestA0 = spans.filter((s) => s.name === 'learner.ingest' && s.attributes['rlmesh.trajectory_id'] === 'a/0');
  assert.ok(ingestA0.some((s) => s.attributes['messaging.message.delivery_count'] === 1));
  assert.ok(ingestA0.some((s) => Number(s.attributes['messaging.message.delivery_count']) > 1), 'the redelivered copy was ingested (and joined the waiting one)');
  const process = spans.filter((s) => s.name === `process ${names.stages.rewarded.subject}`);
  assert.ok(process.length >= 5, `one process span per delivery: ${process.length}`);
});
