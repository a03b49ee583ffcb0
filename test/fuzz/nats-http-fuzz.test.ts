// Fuzzes a live run (gateway, verifier, teacher, learner, 2 rollout workers as `rlmesh serve` children): seeded
// random bytes, mutations of valid messages and hostile decodable ones (NaN/Inf log-probs, wrong shapes,
// out-of-range token ids, forged group sizes, wrong Rlmesh-Type) on every stream's subject, and malformed JSON,
// wrong types, huge bodies and odd paths on the gateway's HTTP API. Every message is either processed or
// dead-lettered with a reason (undecodable and hostile ones always dead-lettered; a hostile trajectory inside a
// decodable TrajectoryBatch is dead-lettered on its own, under its trajectory's id), every HTTP call gets a 4xx
// JSON error, no process crashes, and the run still completes with its dispatched groups accounted for.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { MetricsEvent, RolloutTask, TaskFeedback, Trajectory, TrajectoryBatch, WeightsAnnouncement } from '../../src/generated/rlmesh/v1/common.ts';
import { ConsumerName, Header, runNames, TrajectoryBatchParts, type Stage } from '../../src/platform/nats/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { RunHarness, type RunStatusView } from '../e2e/harness.ts';
import { groupOf } from '../e2e/run-checks.ts';
import { mutate, randInt, randomBytes, rng } from './fuzz-lib.ts';

const SEED = 77031;
const RANDOM_PER_STREAM = 40;
const MUTATED_PER_STREAM = 40;
const TOKEN = 'fuzz-api-token-1234567890';

interface Sent {
  stage: Stage; id: string; stream: string; seq: number; mustDeadLetter: boolean; what: string;
  /** Nats-Msg-Id of its dead letter: its own, or its trajectory's for a hostile trajectory in a decodable batch */
  deadId: string;
}

let h: RunHarness;
let nc: NatsConnection;
let jsm: JetStreamManager;
let final: RunStatusView;
const sent: Sent[] = [];
let dead = new Map<string, StoredMsg>();
const httpResults: Array<{ what: string; status: number; body: string }> = [];
const savedToken = process.env.RLMESH_API_TOKEN;

const task = toTaskSpec(listTasks({ suite: 'add:1-2', split: 'train', limit: 1, seed: 9 })[0]!);
const sampling = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 8, stopTokenIds: [], seed: 0 };

function trajectory(over: Partial<Trajectory> = {}): Trajectory {
  const C = 3;
  return Trajectory.fromPartial({
    trajectoryId: 'fuzzgroup/0', runId: h.runId, taskId: task.taskId, groupId: 'fuzzgroup', sampleIndex: 0, task,
    promptTokenIds: [5, 6, 7, 8], completionTokenIds: [9, 10, 2], samplingLogprobs: Array(C).fill(-1), modelLogprobs: Array(C).fill(-1),
    entropies: Array(C).fill(0.5), completionText: '12', groupSize: 1,
    reward: { total: 1, correct: true, components: {} },
    teacher: { logprobs: Array(C).fill(-1), entropies: Array(C).fill(0.5), topK: 0, topkIds: [], topkLogprobs: [] },
    ...over,
  });
}

const typeOf: Record<string, string> = {
  tasks: 'rlmesh.v1.RolloutTask', rollouts: 'rlmesh.v1.TrajectoryBatch', rewarded: 'rlmesh.v1.TrajectoryBatch', scored: 'rlmesh.v1.TrajectoryBatch',
  feedback: 'rlmesh.v1.TaskFeedback', metrics: 'rlmesh.v1.MetricsEvent', weights: 'rlmesh.v1.WeightsAnnouncement',
};
const decoderOf: Record<string, (b: Uint8Array) => unknown> = {
  tasks: (b) => RolloutTask.decode(b), rollouts: (b) => TrajectoryBatchParts.decode(b), rewarded: (b) => TrajectoryBatchParts.decode(b),
  scored: (b) => TrajectoryBatchParts.decode(b),
  feedback: (b) => TaskFeedback.decode(b), metrics: (b) => MetricsEvent.decode(b), weights: (b) => WeightsAnnouncement.decode(b),
};
const decodes = (stage: string, b: Uint8Array) => { try { decoderOf[stage]!(b); return true; } catch { return false; } };

/**
 * What the consumer of `stage` must dead-letter for bytes `b`: the whole message when it cannot decode it; on the
 * teacher's and learner's streams, a trajectory it cannot decode inside a sound batch, alone under its own id.
 */
function expectedDeadLetter(stage: Stage, b: Uint8Array, messageId: string): { must: boolean; deadId: string } {
  if (!decodes(stage, b)) return { must: true, deadId: messageId };
  if (stage === 'rewarded' || stage === 'scored') {
    const parts = TrajectoryBatchParts.decode(b);
    const [first] = parts.undecodable.keys();
    if (first !== undefined) return { must: true, deadId: `${parts.trajectories[first]!.trajectoryId}:${consumerOf[stage]}:dead` };
  }
  return { must: false, deadId: messageId };
}

/** A TrajectoryBatch of these trajectories. */
const batch = (...ts: Trajectory[]) => TrajectoryBatch.encode({ trajectories: ts }).finish();
const consumerOf: Partial<Record<Stage, string>> = { rollouts: ConsumerName.verifier, rewarded: ConsumerName.teacher, scored: ConsumerName.learner };

async function publish(stage: Stage, bytes: Uint8Array, id: string, what: string, mustDeadLetter: boolean, type = typeOf[stage]!, deadId = id): Promise<void> {
  const js = jetstream(nc);
  const hd = natsHeaders();
  hd.set(Header.type, type);
  hd.set(Header.msgId, id);
  const ack = await js.publish(runNames(h.runId).stages[stage].subject, bytes, { headers: hd });
  sent.push({ stage, id, stream: ack.stream, seq: ack.seq, mustDeadLetter, what, deadId });
}

async function http(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${h.httpPort}${path}`, { method, body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: await res.text() };
}

before(async () => {
  process.env.RLMESH_API_TOKEN = TOKEN; // the gateway child inherits it; mutating endpoints need it
  h = await RunHarness.create({ prefix: 'fuzznats', config: { learner: { steps: 6 } } });
  nc = await connect({ servers: h.nats.url });
  jsm = await jetstreamManager(nc);
  await h.startAll(2);
  await h.waitFor((s) => s.step >= 1, 'learner step 1');

  const r = rng(SEED);
  const seeds: Record<string, Uint8Array> = {
    tasks: RolloutTask.encode(RolloutTask.fromPartial({ runId: h.runId, dispatchId: 'fuzz-d', task, sampling, groupSize: 1 })).finish(),
    rollouts: batch(trajectory({ reward: undefined, teacher: undefined })),
    rewarded: batch(trajectory({ teacher: undefined })),
    scored: batch(trajectory()),
    feedback: TaskFeedback.encode(TaskFeedback.fromPartial({ runId: h.runId, taskId: task.taskId, groupId: 'fuzz-no-such-group', samples: 1, passRate: 0.5 })).finish(),
    metrics: MetricsEvent.encode(MetricsEvent.fromPartial({ runId: h.runId, step: 1, source: 'fuzz', values: { x: 1 } })).finish(),
    weights: WeightsAnnouncement.encode(WeightsAnnouncement.fromPartial({ runId: h.runId, version: 999, bucket: 'nope', objectName: 'nope' })).finish(),
  };
  let n = 0;
  for (const stage of Object.keys(seeds) as Stage[]) {
    // The weights stream keeps announcements (a log, not a work queue): fuzz it, but nothing is dead-lettered there.
    const work = stage !== 'weights';
    for (const [what, count, make] of [['random', RANDOM_PER_STREAM, () => randomBytes(r)], ['mutated', MUTATED_PER_STREAM, () => mutate(r, seeds[stage]!)]] as const) {
      for (let i = 0; i < count; i++) {
        const b = make();
        const id = `fuzz-${n++}`;
        const expected = expectedDeadLetter(stage, b, id);
        await publish(stage, b, id, what, work && expected.must, typeOf[stage], expected.deadId);
      }
    }
    if (work) for (let i = 0; i < 3; i++) await publish(stage, seeds[stage]!, `fuzz-${n++}`, 'wrong Rlmesh-Type', true, ['rlmesh.v1.Nope', 'rlmesh.v1.WeightsAnnouncement', ''][i] || 'x');
  }
  // Hostile but decodable: each must be refused by its consumer (a trajectory: on its own, under its own id).
  const hostile: Array<[Stage, Uint8Array, string]> = [
    ['tasks', RolloutTask.encode(RolloutTask.fromPartial({ runId: h.runId, dispatchId: 'fuzz-big', task, sampling, groupSize: 1_000_000 })).finish(), 'a million samples'],
    ['tasks', RolloutTask.encode(RolloutTask.fromPartial({ runId: h.runId, dispatchId: 'fuzz-nan', task, sampling: { ...sampling, temperature: NaN }, groupSize: 2 })).finish(), 'NaN temperature'],
    ['tasks', RolloutTask.encode(RolloutTask.fromPartial({ runId: h.runId, dispatchId: 'fuzz-long', task: { ...task, prompt: '1'.repeat(50_000) }, sampling, groupSize: 2 })).finish(), 'prompt longer than the context'],
    ['rollouts', batch(trajectory({ trajectoryId: 'fuzz-r1/0', task: undefined })), 'no task'],
    ['rollouts', batch(trajectory({ trajectoryId: 'fuzz-r2/0', task: { ...task, taskId: 'add:77:bogus' } })), 'unknown task id'],
    ['rewarded', batch(trajectory({ trajectoryId: 'fuzz-w1/0', completionTokenIds: [1, 1 << 24, 3] })), 'out-of-range token id'],
    ['rewarded', batch(trajectory({ trajectoryId: 'fuzz-w2/0', completionTokenIds: Array(4000).fill(3) })), 'longer than the context'],
    ['scored', batch(trajectory({ trajectoryId: 'fuzz-h1/0', groupId: 'fuzz-h1', samplingLogprobs: [NaN, -1, -1] })), 'NaN sampling log-prob'],
    ['scored', batch(trajectory({ trajectoryId: 'fuzz-h2/0', groupId: 'fuzz-h2', samplingLogprobs: [-1] })), 'log-probs shorter than the completion'],
    ['scored', batch(trajectory({ trajectoryId: 'fuzz-h3/0', groupId: 'fuzz-h3', teacher: { ...trajectory().teacher!, logprobs: [-Infinity, -1, -1] } })), '-Inf teacher log-prob'],
    ['scored', batch(trajectory({ trajectoryId: 'fuzz-h4/0', groupId: 'fuzz-h4', promptTokenIds: Array(3000).fill(4) })), 'longer than the context'],
    ['feedback', TaskFeedback.encode(TaskFeedback.fromPartial({ runId: h.runId, groupId: 'x' })).finish().subarray(0, 3), 'truncated'],
  ];
  for (const [stage, bytes, what] of hostile) {
    const consumer = consumerOf[stage];
    const deadId = consumer ? `${TrajectoryBatch.decode(bytes).trajectories[0]!.trajectoryId}:${consumer}:dead` : undefined;
    await publish(stage, bytes, `fuzz-${n++}`, what, true, typeOf[stage], deadId);
  }

  // Gateway HTTP: malformed JSON, wrong types, huge bodies, odd paths. None may start a run.
  const valid = JSON.stringify({ mode: 'opd', learner: { steps: 3 } });
  const cases: Array<[string, () => Promise<{ status: number; body: string }>]> = [];
  for (let i = 0; i < 60; i++) {
    let text = '';
    const bytes = mutate(r, new TextEncoder().encode(valid));
    text = Buffer.from(bytes).toString('latin1');
    let parses = true;
    try { const v = JSON.parse(text) as unknown; parses = typeof v === 'object' && v !== null; } catch { parses = false; }
    if (parses) continue; // a mutation that is still a JSON object could be a valid run config
    cases.push([`mutated JSON ${i}`, () => http('POST', '/runs', text)]);
  }
  for (let i = 0; i < 20; i++) cases.push([`random bytes ${i}`, () => http('POST', '/runs', Buffer.from(randomBytes(r, 512)))]);
  cases.push(['empty body', () => http('POST', '/runs', '')]);
  cases.push(['wrong type learner.steps', () => http('POST', '/runs', JSON.stringify({ learner: { steps: 'many' } }))]);
  cases.push(['NaN-ish number', () => http('POST', '/runs', '{"learner":{"lr":NaN}}')]);
  cases.push(['unknown key', () => http('POST', '/runs', JSON.stringify({ learner: { steps: 2 }, bogus: 1 }))]);
  cases.push(['negative steps', () => http('POST', '/runs', JSON.stringify({ learner: { steps: -1 } }))]);
  cases.push(['a secret in the config', () => http('POST', '/runs', JSON.stringify({ nats: { password: 'hunter2' } }))]);
  cases.push(['deep nesting', () => http('POST', '/runs', '['.repeat(200_000))]);
  cases.push(['2 MiB body', () => http('POST', '/runs', '{"a":"' + 'x'.repeat(2 << 20) + '"}')]);
  cases.push(['20 MiB body', () => http('POST', '/runs', Buffer.alloc(20 << 20, 0x20))]);
  cases.push(['array body', () => http('POST', '/runs', '[1,2,3]')]);
  cases.push(['stop of an unknown run', () => http('POST', `/runs/nope-${randInt(r, 1e6)}/stop`, '')]);
  cases.push(['view of an unknown run', () => http('GET', '/runs/%00%ff')]);
  cases.push(['traversal into the repo', () => http('GET', '/dashboard/..%2f..%2f..%2fpackage.json')]);
  cases.push(['unknown trace', () => http('GET', `/runs/${h.runId}/traces/zz`)]);
  cases.push(['no token', () => http('POST', '/runs', valid, { authorization: '' })]);
  cases.push(['wrong token', () => http('POST', '/runs', valid, { authorization: 'Bearer nope' })]);
  for (const [what, run] of cases) httpResults.push({ what, ...(await run()) });

  // Wait until every fuzz message has left its work queue (processed or dead-lettered and removed).
  const deadline = Date.now() + 90_000;
  for (;;) {
    const left = [];
    for (const s of sent.filter((x) => x.stage !== 'weights')) if (await jsm.streams.getMessage(s.stream, { seq: s.seq }).catch(() => null)) left.push(s);
    if (left.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${left.length} fuzz messages still queued: ${left.slice(0, 5).map((s) => `${s.stage} ${s.what}`).join('; ')}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
  final = await h.waitFinished(180_000);
  const deadStream = runNames(h.runId).stages.dead.stream;
  const total = (await jsm.streams.info(deadStream)).state.messages;
  const msgs = await Promise.all(Array.from({ length: total }, (_, i) => jsm.streams.getMessage(deadStream, { seq: i + 1 })));
  dead = new Map(msgs.filter((m): m is StoredMsg => m !== null).map((m) => [m.header?.get(Header.msgId) ?? '', m]));
});

after(async () => {
  if (savedToken === undefined) delete process.env.RLMESH_API_TOKEN; else process.env.RLMESH_API_TOKEN = savedToken;
  await nc?.close();
  await h?.destroy();
});

test('undecodable, wrong-type and hostile messages on every stream are dead-lettered with a reason', (t) => {
  const must = sent.filter((s) => s.mustDeadLetter);
  t.diagnostic(`${must.filter((s) => s.deadId !== s.id && s.what !== 'wrong Rlmesh-Type').length} of them dead-lettered as single trajectories (hostile, or undecodable inside a sound batch)`);
  assert.ok(must.length >= 6 * 3 + 12, `${must.length} messages must be dead-lettered`);
  for (const s of must) {
    const m = dead.get(s.deadId);
    assert.ok(m, `${s.stage} ${s.what} (${s.id}, dead letter ${s.deadId}) has a dead letter`);
    assert.ok((m.header?.get(Header.deadReason) ?? '').length > 5, `${s.id} reason: ${m.header?.get(Header.deadReason)}`);
    assert.equal(m.header!.get(Header.deadStream), s.stream);
  }
  const byStage = new Map<string, { tried: number; dead: number }>();
  for (const s of sent) {
    const e = byStage.get(s.stage) ?? { tried: 0, dead: 0 };
    e.tried++;
    if (dead.has(s.deadId)) e.dead++;
    byStage.set(s.stage, e);
  }
  for (const [stage, e] of byStage) process.stdout.write(`fuzz nats ${stage}: ${e.tried} inputs, ${e.dead} dead-lettered, ${e.tried - e.dead} processed\n`);
  const reasons = [...dead.values()].map((m) => m.header!.get(Header.deadReason));
  assert.ok(reasons.every((x) => !/internal error/.test(x)), 'no reason is a bare internal error');
});

test('every fuzz message on a work stream was processed or dead-lettered (none left queued, none lost)', async () => {
  for (const s of sent.filter((x) => x.stage !== 'weights')) {
    assert.equal(await jsm.streams.getMessage(s.stream, { seq: s.seq }).catch(() => null), null, `${s.stage} #${s.seq} left its queue`);
  }
});

test('the gateway answers every malformed HTTP request with a 4xx JSON error and starts no run', async () => {
  assert.ok(httpResults.length >= 40, `${httpResults.length} HTTP inputs`);
  for (const r of httpResults) {
    assert.ok(r.status >= 400 && r.status < 500, `${r.what}: ${r.status} ${r.body.slice(0, 200)}`);
    const body = JSON.parse(r.body) as { error?: { message?: string } };
    assert.ok(body.error?.message, `${r.what}: JSON error body`);
    assert.doesNotMatch(r.body, /hunter2|"name":\s*"rlmesh"/, `${r.what}: no secret or file content echoed`);
  }
  const statuses: Record<number, number> = {};
  for (const r of httpResults) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  process.stdout.write(`fuzz http: ${httpResults.length} inputs ${JSON.stringify(statuses)}\n`);
  assert.ok(httpResults.some((r) => r.status === 413), 'huge bodies get 413');
  const { runs } = JSON.parse((await http('GET', '/runs')).body) as { runs: Array<{ runId: string }> };
  assert.deepEqual(runs.map((x) => x.runId), [h.runId], 'only the harness run exists');
});

test('no process crashed; the run completed and every dispatched group is accounted for', async () => {
  for (const [label, p] of h.processes) {
    assert.equal(p.proc.child.exitCode, null, `${label} alive`);
    assert.doesNotMatch(h.log(label), /uncaught|unhandled/i, `${label} log`);
  }
  assert.equal(final.state, 'finished');
  assert.equal(final.step, 6);
  const a = final.accounting;
  assert.equal(a.completed + a.droppedStale + a.filtered + final.inFlight, a.dispatched);
  const dispatched = new Set(Array.from({ length: a.dispatched }, (_, i) => `${h.runId}-g${i}`));
  const trained = new Set((h.trainerState().rng?.trainedIds ?? []).map(groupOf).filter((g) => dispatched.has(g)));
  assert.equal(trained.size, a.completed, 'dispatched groups trained = completed');
  assert.ok(a.deadLettered >= sent.filter((s) => s.mustDeadLetter).length);
});
