// The trajectory streams' payload: a TrajectoryBatch round-trips through its parts (each trajectory with its own bytes),
// appending fields to received bytes equals re-encoding, dedupe ids are deterministic, oversized batches are split,
// malformed bytes are refused, and a dead letter counts per trajectory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Trajectory, TrajectoryBatch, type Reward, type TokenScores } from '../../../src/generated/rlmesh/v1/common.ts';
import {
  carriesOf, countTrajectories, deadLetterWeight, encodeTails, readTrajectorySummary, trajectoryBatchSummaries, Header, joinTrajectories, protoTypeName, splitTrajectoryBatch, TRAJECTORY_BATCH_TYPE,
  trajectoryBatchMsgId, TrajectoryBatchParts, withFields, withFieldsEach,
} from '../../../src/platform/nats/index.ts';
import { chunkBySize } from '../../../src/platform/nats/trajectory-batch.ts';

function trajectory(i: number, over: Partial<Trajectory> = {}): Trajectory {
  return Trajectory.fromPartial({
    trajectoryId: `g/${i}`, runId: 'run-a', taskId: 'add/d2/train/7', groupId: 'g', sampleIndex: i,
    task: { taskId: 'add/d2/train/7', category: 'add', difficulty: 2, params: { length_budget: '64' } },
    completionText: '<think>12+30=42</think><answer>42</answer>', completionTokenIds: [5, 9, 300 + i, 2],
    samplingLogprobs: [-0.5, -1.25, -0.125, -2], modelLogprobs: [-0.5, -1, -0.25, -2], entropies: [0.5, 0.25, 1, 0.75],
    policyVersion: 4, groupSize: 8, traceContext: { traceparent: `00-${'a'.repeat(31)}${i}-${'b'.repeat(16)}-01`, tracestate: 'k=v' },
    ...over,
  });
}

test('a TrajectoryBatch round-trips: generated encode -> parts -> join gives the same bytes and trajectories', () => {
  const ts = [trajectory(0), trajectory(1, { traceContext: {} }), trajectory(2, { completionTokenIds: [] })];
  const bytes = TrajectoryBatch.encode({ trajectories: ts }).finish();
  const parts = TrajectoryBatchParts.decode(bytes);
  assert.deepEqual(parts.trajectories, ts);
  assert.deepEqual(parts.encoded.map((e) => Trajectory.decode(e)), ts);
  assert.deepEqual([...joinTrajectories(parts.encoded)], [...bytes]);
  assert.deepEqual([...TrajectoryBatchParts.encode(parts).finish()], [...bytes]);
  assert.deepEqual(TrajectoryBatch.decode(joinTrajectories(parts.encoded)).trajectories, ts);
  assert.equal(countTrajectories(bytes), 3);
  assert.deepEqual(splitTrajectoryBatch(new Uint8Array()), [], 'an empty batch is valid');
  assert.equal(protoTypeName(TrajectoryBatchParts), 'rlmesh.v1.TrajectoryBatch');
  assert.equal(protoTypeName(TrajectoryBatch), TRAJECTORY_BATCH_TYPE);
});

test('a trajectory no reader can decode (an int64 past 2^53) is set aside by index with its id; the others decode', () => {
  const big = Trajectory.fromPartial({ trajectoryId: 'big/0', policyVersion: 2 ** 60 });
  const bytes = TrajectoryBatch.encode({ trajectories: [trajectory(0), big, trajectory(1)] }).finish();
  const parts = TrajectoryBatchParts.decode(bytes);
  assert.deepEqual([...parts.undecodable.keys()], [1]);
  assert.equal(parts.undecodable.get(1)!.field, 'trajectories.1');
  assert.match(parts.undecodable.get(1)!.message, /MAX_SAFE_INTEGER/);
  assert.deepEqual(parts.trajectories.map((t) => t.trajectoryId), [trajectory(0).trajectoryId, 'big/0', trajectory(1).trajectoryId]);
  assert.deepEqual(parts.trajectories[2], trajectory(1));
  assert.deepEqual([...TrajectoryBatchParts.encode(parts).finish()], [...bytes], 'its bytes travel unchanged');
});

test('malformed batches are refused: truncated trajectory, bad inner bytes, bad tag', () => {
  const bytes = TrajectoryBatch.encode({ trajectories: [trajectory(0), trajectory(1)] }).finish();
  assert.throws(() => splitTrajectoryBatch(bytes.subarray(0, bytes.length - 3)), /claims \d+ bytes/);
  assert.throws(() => TrajectoryBatchParts.decode(Uint8Array.from([0x0a, 0x10, 0x01])));
  // field 1 holds 3 bytes that are not a Trajectory (a string field claiming more bytes than there are): the framing
  // is sound, so that trajectory alone is undecodable, named by its bytes
  const parts = TrajectoryBatchParts.decode(Uint8Array.from([0x0a, 0x03, 0x0a, 0x10, 0x01]));
  assert.match(parts.undecodable.get(0)!.message, /trajectories\[0\]: not a Trajectory/);
  assert.match(parts.trajectories[0]!.trajectoryId, /^undecodable-[0-9a-f]{16}$/);
  assert.throws(() => splitTrajectoryBatch(Uint8Array.from([0x04])), /invalid tag/);
});

test('withFields: received bytes + appended fields decode to the trajectory with them, equal to a re-encode', () => {
  const t = trajectory(3, { reward: undefined });
  const encoded = Trajectory.encode(t).finish();
  const reward: Reward = { total: 0.85, components: { correctness: 1, format: 0.1, shaping: -0.25 }, correct: true, parsedAnswer: '42', reason: '', formatOk: true };
  const traceContext = { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`, tracestate: '' };
  const appended = withFields(encoded, carriesOf(t), { reward, traceContext });
  assert.ok(appended.length > encoded.length && [...appended.subarray(0, encoded.length)].every((b, i) => b === encoded[i]), 'the received bytes are kept as they are');
  const back = Trajectory.decode(appended);
  assert.deepEqual(back, { ...t, reward, traceContext });
  assert.deepEqual(Trajectory.encode(back).finish(), Trajectory.encode({ ...t, reward, traceContext }).finish());
  // an all-default reward still reads back as present
  const zero: Reward = { total: 0, components: {}, correct: false, parsedAnswer: '', reason: '', formatOk: false };
  assert.deepEqual(Trajectory.decode(withFields(encoded, carriesOf(t), { reward: zero })).reward, zero);
  // teacher scores append the same way
  const teacher: TokenScores = { logprobs: [-1, -2, -0.5, -3], entropies: [1, 1, 1, 1], topK: 0, topkIds: [], topkLogprobs: [], fullLogprobs: undefined, modelVersion: 2, modelId: 'teacher' };
  assert.deepEqual(Trajectory.decode(withFields(encoded, carriesOf(t), { teacher })), { ...t, teacher });
  // a message field the trajectory already carries is re-encoded, not merged
  const rewarded = { ...t, reward: { ...reward, components: { correctness: 1, stale: 3 } } };
  assert.deepEqual(Trajectory.decode(withFields(Trajectory.encode(rewarded).finish(), carriesOf(rewarded), { reward })).reward, reward);
  assert.equal(withFields(encoded, carriesOf(t), {}), encoded, 'nothing to add: the same bytes');
});

test('batch dedupe ids: deterministic per trajectory set and stage; one trajectory keeps `<id>:<stage>`', () => {
  const ids = ['run-g1/0', 'run-g1/1', 'run-g2/0'];
  const a = trajectoryBatchMsgId(ids, 'verifier');
  assert.equal(a, trajectoryBatchMsgId([...ids], 'verifier'));
  assert.match(a, /^run-g1\/0\+2~[0-9a-f]{16}:verifier$/);
  assert.notEqual(a, trajectoryBatchMsgId(ids, 'teacher'));
  assert.notEqual(a, trajectoryBatchMsgId(ids.slice(0, 2), 'verifier'));
  assert.notEqual(a, trajectoryBatchMsgId(['run-g1/0', 'run-g1/1', 'run-g2/1'], 'verifier'));
  assert.equal(trajectoryBatchMsgId(['g/3'], 'rollout'), 'g/3:rollout');
});

test('chunkBySize keeps order and each chunk under the limit; an oversized trajectory goes alone', () => {
  const items = [10, 20, 30, 200, 5, 5].map((n, i) => ({ id: `t${i}`, data: new Uint8Array(n) }));
  const chunks = chunkBySize(items, 64);
  assert.deepEqual(chunks.map((c) => c.map((x) => x.id)), [['t0', 't1'], ['t2'], ['t3'], ['t4', 't5']]);
  for (const c of chunks) if (c.length > 1) assert.ok(joinTrajectories(c.map((x) => x.data)).length <= 64);
  assert.deepEqual(chunkBySize(items, 1 << 20).map((c) => c.length), [6]);
});

test('a dead letter counts per trajectory for a TrajectoryBatch, 1 otherwise or when undecodable', () => {
  const h = natsHeaders();
  h.set(Header.type, TRAJECTORY_BATCH_TYPE);
  const three = TrajectoryBatch.encode({ trajectories: [trajectory(0), trajectory(1), trajectory(2)] }).finish();
  assert.equal(deadLetterWeight(h, three), 3);
  assert.equal(deadLetterWeight(h, joinTrajectories([Trajectory.encode(trajectory(0)).finish()])), 1);
  assert.equal(deadLetterWeight(h, Uint8Array.from([0x0a, 0x10, 0x01])), 1, 'garbage counts once');
  const other = natsHeaders();
  other.set(Header.type, 'rlmesh.v1.RolloutTask');
  assert.equal(deadLetterWeight(other, three), 1);
  assert.equal(deadLetterWeight(undefined, three), 1);
});

test('encodeTails + joinTrajectories: tails encoded in one pass and appended decode like re-encoded trajectories', () => {
  const ts = [trajectory(0, { reward: undefined }), trajectory(1, { reward: undefined })];
  const encoded = ts.map((t) => Trajectory.encode(t).finish());
  const fields: Array<Partial<Trajectory>> = [
    { reward: { total: 0.5, components: { correctness: 0 }, correct: false, parsedAnswer: '0', reason: 'r0', formatOk: true } },
    { reward: { total: 1, components: { correctness: 1 }, correct: true, parsedAnswer: '1', reason: 'r1', formatOk: true }, traceContext: { traceparent: `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01`, tracestate: '' } },
  ];
  const tails = encodeTails(fields);
  const back = TrajectoryBatch.decode(joinTrajectories(encoded, tails)).trajectories;
  assert.deepEqual(back, ts.map((t, i) => ({ ...t, ...fields[i] })));
  assert.ok(tails.every((tail, i) => tail.length > 0 && encoded[i]!.length > 0), 'each trajectory keeps its received bytes and gets a tail');
  assert.deepEqual(encodeTails([{}, { policyVersion: 3 }]).map((x) => x.length), [0, 2]);
});

test('readTrajectorySummary reads what the generated decoder reads, without the arrays', () => {
  const cases = [
    trajectory(0),
    trajectory(1, { task: undefined, traceContext: {}, entropies: [], completionTokenIds: [] }),
    trajectory(2, { completionText: 'ünïcødé <answer>4</answer>', policyVersion: 2 ** 40, reward: { total: 1, components: {}, correct: true, parsedAnswer: '4', reason: '', formatOk: true } }),
    trajectory(3, { teacher: { logprobs: [-1], entropies: [0.5], topK: 0, topkIds: [], topkLogprobs: [], fullLogprobs: undefined, modelVersion: 1, modelId: 't' } }),
  ];
  for (const t of cases) {
    const bytes = Trajectory.encode(t).finish();
    const full = readTrajectorySummary(bytes, { entropies: true, traceContext: true });
    assert.equal(full.trajectoryId, t.trajectoryId);
    assert.deepEqual(full.task, t.task ? { taskId: t.task.taskId, params: t.task.params } : undefined);
    assert.equal(full.completionText, t.completionText);
    assert.equal(full.completionTokens, t.completionTokenIds.length);
    assert.equal(full.policyVersion, t.policyVersion);
    assert.deepEqual(full.entropies, Trajectory.decode(bytes).entropies, 'float32 values as the generated decoder reads them');
    assert.deepEqual(full.traceContext, t.traceContext);
    assert.deepEqual(full.carries, carriesOf(t));
    const lean = readTrajectorySummary(bytes);
    assert.deepEqual([lean.entropies, lean.traceContext], [[], {}], 'entropies and trace context only when asked for');
  }
  // an unknown field (a newer producer) is stepped over
  const withUnknown = new Uint8Array([...Trajectory.encode(cases[0]!).finish(), 0xfa, 0x07, 0x02, 0x68, 0x69]); // field 127, "hi"
  assert.equal(readTrajectorySummary(withUnknown).trajectoryId, cases[0]!.trajectoryId);
  assert.throws(() => readTrajectorySummary(Trajectory.encode(cases[0]!).finish().subarray(0, 40)), /claims|premature/);
  const batch = TrajectoryBatch.encode({ trajectories: cases }).finish();
  const read = trajectoryBatchSummaries({ traceContext: true }).decode(batch);
  assert.deepEqual(read.summaries.map((x) => x.trajectoryId), cases.map((t) => t.trajectoryId));
  assert.deepEqual(read.encoded.map((e) => Trajectory.decode(e)), cases);
  // a trajectory whose inner bytes cannot be read (3 bytes of packed entropies: no whole float) is set aside by index;
  // the others are read
  const broken = new Uint8Array([...Trajectory.encode(cases[1]!).finish(), 0x5a, 0x03, 0, 0, 0]);
  const mixed = trajectoryBatchSummaries().decode(joinTrajectories([Trajectory.encode(cases[0]!).finish(), broken]));
  assert.deepEqual([...mixed.undecodable.keys()], [1]);
  assert.match(mixed.undecodable.get(1)!.message, /trajectories\[1\]: not a Trajectory: entropies/);
  assert.equal(mixed.summaries[0]!.trajectoryId, cases[0]!.trajectoryId);
  assert.match(mixed.summaries[1]!.trajectoryId, /^undecodable-[0-9a-f]{16}$/);
  assert.equal(mixed.summaries[1]!.task, undefined);
  // broken framing of the batch itself still makes the whole message undecodable
  assert.throws(() => trajectoryBatchSummaries().decode(Uint8Array.from([0x0a, 0x10, 0x01])), /claims/);
});

test('readTrajectorySummary with taskParams keeps only the wanted params, by exact key (what the verifier reads)', () => {
  const params = { length_budget: '64', length_budget_x: '1', other: 'x', 'länge': 'ü' };
  const t = trajectory(0);
  t.task = { ...t.task!, params };
  const bytes = Trajectory.encode(t).finish();
  assert.deepEqual(readTrajectorySummary(bytes, { taskParams: ['length_budget'] }).task, { taskId: 'add/d2/train/7', params: { length_budget: '64' } });
  assert.deepEqual(readTrajectorySummary(bytes, { taskParams: ['länge', 'missing'] }).task!.params, { 'länge': 'ü' });
  assert.deepEqual(readTrajectorySummary(bytes, { taskParams: [] }).task!.params, {});
  assert.deepEqual(readTrajectorySummary(bytes).task!.params, params, 'every param without taskParams');
  // the same wanted keys over a batch (encoded once per taskParams array)
  const read = trajectoryBatchSummaries({ taskParams: ['other'] }).decode(TrajectoryBatch.encode({ trajectories: [t, trajectory(1)] }).finish());
  assert.deepEqual(read.summaries.map((s) => s.task!.params), [{ other: 'x' }, {}]);
});

test('withFieldsEach: fresh trajectories get a tail (received bytes untouched), a replay carrying the field is re-encoded', () => {
  const fresh = trajectory(0, { reward: undefined });
  const replay = trajectory(1, { reward: { total: 1, components: {}, correct: true, parsedAnswer: '4', reason: 'old', formatOk: true } }); // a replay: appending would merge two rewards
  const reward = { total: 0.25, components: { correctness: 0 }, correct: false, parsedAnswer: '9', reason: 'new', formatOk: true };
  const items = [fresh, replay].map((t) => ({ id: t.trajectoryId, encoded: Trajectory.encode(t).finish(), carries: carriesOf(t), fields: { reward } }));
  const out = withFieldsEach(items);
  assert.deepEqual(out.map((o) => o.id), [fresh.trajectoryId, replay.trajectoryId]);
  assert.equal(out[0]!.data, items[0]!.encoded, 'the fresh one keeps its received bytes');
  assert.ok(out[0]!.tail && out[0]!.tail.length > 0);
  assert.equal(out[1]!.tail, undefined);
  const back = TrajectoryBatch.decode(joinTrajectories(out.map((o) => o.data), out.map((o) => o.tail))).trajectories;
  assert.deepEqual(back, [{ ...fresh, reward }, { ...replay, reward }]);
});
