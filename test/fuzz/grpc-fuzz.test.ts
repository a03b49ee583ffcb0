// Fuzzes every gRPC method of the four actors (each a real `rlmesh serve` child process) with seeded random bytes,
// mutations of a valid request, hostile but decodable requests (NaN/Inf floats, wrong shapes, out-of-range token
// ids, huge counts) and one oversized message per service. Every call must end OK, INVALID_ARGUMENT (naming a
// field) or, for the oversized message, RESOURCE_EXHAUSTED; afterwards every process is alive and SERVING.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcCode, type Client } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { GenerateRequest, GetPolicyRequest } from '../../src/generated/rlmesh/v1/rollout.ts';
import { ScoreRequest, TeacherGenerateRequest } from '../../src/generated/rlmesh/v1/teacher.ts';
import { ListTasksRequest, VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import { GetStateRequest, SaveCheckpointRequest, StepRequest, WatchMetricsRequest } from '../../src/generated/rlmesh/v1/learner.ts';
import { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { provisionRun } from '../../src/platform/nats/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { RunHarness } from '../e2e/harness.ts';
import { checkHealth, healthClient } from '../integration/grpc-test-clients.ts';
import { histogram, mutate, pool, randomBytes, rawClient, rawStream, rawUnary, rng, type CallOutcome } from './fuzz-lib.ts';

const SEED = 20240611;
const RANDOM_PER_METHOD = 60;
const MUTATED_PER_METHOD = 60;
const VOCAB = 104;
const DEADLINE_MS = 30_000;

interface Method { label: string; path: string; stream: boolean; seed: Uint8Array }
interface Hostile { label: string; path: string; stream: boolean; bytes: Uint8Array; field: RegExp; what: string }

let h: RunHarness;
let nc: NatsConnection;
const clients = new Map<string, Client>();
const methods: Method[] = [];
const hostile: Hostile[] = [];
const outcomes: Array<{ method: string; kind: string; out: CallOutcome }> = [];

const task = toTaskSpec(listTasks({ suite: 'add:1-2', split: 'train', limit: 1, seed: 5 })[0]!);
const sampling = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 8, stopTokenIds: [], seed: 0 };

function call(m: { label: string; path: string; stream: boolean }, bytes: Uint8Array): Promise<CallOutcome> {
  const c = clients.get(m.label)!;
  // WatchMetrics never ends by itself: a short deadline, and DEADLINE_EXCEEDED is its normal end.
  if (m.path.endsWith('/WatchMetrics')) return rawStream(c, m.path, bytes, 400);
  return m.stream ? rawStream(c, m.path, bytes, DEADLINE_MS) : rawUnary(c, m.path, bytes, DEADLINE_MS);
}

before(async () => {
  h = await RunHarness.create({ prefix: 'fuzzgrpc' });
  nc = await connect({ servers: h.nats.url });
  await provisionRun(await jetstreamManager(nc), h.runId, { withTeacher: true });
  await Promise.all(['rollout', 'teacher', 'verifier', 'learner'].map((l) => h.startActor(l)));
  for (const l of ['rollout', 'teacher', 'verifier', 'learner']) clients.set(l, rawClient(`127.0.0.1:${h.processes.get(l)!.grpcPort}`));

  // A valid trajectory (generated, then scored by the teacher) seeds the learner's Step.
  const gen = GenerateRequest.encode({ runId: '', task, sampling, numSamples: 1, groupId: 'fuzz-seed' }).finish();
  const trajBytes: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = clients.get('rollout')!.makeServerStreamRequest('/rlmesh.v1.StudentRollout/Generate', (b: Buffer) => b, (b: Buffer) => b, Buffer.from(gen));
    s.on('data', (b: Buffer) => trajBytes.push(b));
    s.on('end', resolve);
    s.on('error', reject);
  });
  const traj = Trajectory.decode(trajBytes[0]!);
  const C = traj.completionTokenIds.length;
  traj.teacher = { logprobs: Array(C).fill(-1), entropies: Array(C).fill(0.5), topK: 0, topkIds: [], topkLogprobs: [] } as unknown as Trajectory['teacher'];
  const step = (t: Partial<Trajectory>) => StepRequest.encode(StepRequest.fromPartial({ trajectories: [{ ...traj, ...t }], publishWeights: false })).finish();
  const item = { id: 'a', promptTokenIds: traj.promptTokenIds, completionTokenIds: traj.completionTokenIds, privilegedContext: '' };

  const R = '/rlmesh.v1.StudentRollout/', T = '/rlmesh.v1.TeacherScoring/', V = '/rlmesh.v1.VerifierReward/', L = '/rlmesh.v1.LearnerUpdate/';
  methods.push(
    { label: 'rollout', path: `${R}Generate`, stream: true, seed: gen },
    { label: 'rollout', path: `${R}GetPolicy`, stream: false, seed: GetPolicyRequest.encode({}).finish() },
    { label: 'teacher', path: `${T}Score`, stream: false, seed: ScoreRequest.encode({ items: [item], topK: 2, fullDistribution: false }).finish() },
    { label: 'teacher', path: `${T}Generate`, stream: false, seed: TeacherGenerateRequest.encode({ task, sampling, numSamples: 1 }).finish() },
    { label: 'verifier', path: `${V}Verify`, stream: false, seed: VerifyRequest.encode({ items: [{ taskId: task.taskId, completion: '<answer>3</answer>', completionTokens: 4 }], weights: {} }).finish() },
    { label: 'verifier', path: `${V}ListTasks`, stream: false, seed: ListTasksRequest.encode({ suite: 'add:1-2', split: 'train', limit: 3, seed: 1 }).finish() },
    { label: 'learner', path: `${L}Step`, stream: false, seed: step({}) },
    { label: 'learner', path: `${L}GetState`, stream: false, seed: GetStateRequest.encode({}).finish() },
    { label: 'learner', path: `${L}SaveCheckpoint`, stream: false, seed: SaveCheckpointRequest.encode({ path: 'fuzz' }).finish() },
    { label: 'learner', path: `${L}WatchMetrics`, stream: true, seed: WatchMetricsRequest.encode({}).finish() },
  );

  const genReq = (p: Partial<GenerateRequest>) => GenerateRequest.encode(GenerateRequest.fromPartial({ task, sampling, numSamples: 1, ...p })).finish();
  const tGen = (p: Partial<TeacherGenerateRequest>) => TeacherGenerateRequest.encode(TeacherGenerateRequest.fromPartial({ task, sampling, numSamples: 1, ...p })).finish();
  const score = (p: Partial<typeof item>, topK = 0) => ScoreRequest.encode(ScoreRequest.fromPartial({ items: [{ ...item, ...p }], topK })).finish();
  const add = (label: string, path: string, bytes: Uint8Array, field: RegExp, what: string, stream = false) => hostile.push({ label, path, stream, bytes, field, what });
  add('rollout', `${R}Generate`, genReq({ sampling: { ...sampling, temperature: NaN } }), /sampling\.temperature/, 'NaN temperature', true);
  add('rollout', `${R}Generate`, genReq({ sampling: { ...sampling, topP: Infinity } }), /sampling\.top_p/, 'Inf top_p', true);
  add('rollout', `${R}Generate`, genReq({ numSamples: 1_000_000 }), /num_samples/, 'a million samples', true);
  add('rollout', `${R}Generate`, genReq({ numSamples: -3 }), /num_samples/, 'negative samples', true);
  add('rollout', `${R}Generate`, genReq({ task: { ...task, prompt: '9'.repeat(100_000) } }), /task\.prompt/, 'prompt longer than the context', true);
  add('rollout', `${R}Generate`, genReq({ task: undefined }), /task/, 'no task', true);
  add('rollout', `${R}Generate`, genReq({ sampling: { ...sampling, maxNewTokens: 1 << 30 } }), /max_new_tokens/, 'huge max_new_tokens', true);
  add('teacher', `${T}Score`, score({ completionTokenIds: [1, VOCAB + 7] }), /items\.0\.completion_token_ids/, 'token id past the vocabulary');
  add('teacher', `${T}Score`, score({ promptTokenIds: [-5, 3] }), /items\.0\.prompt_token_ids/, 'negative token id');
  add('teacher', `${T}Score`, score({ promptTokenIds: [] }), /items\.0\.prompt_token_ids/, 'empty prompt');
  add('teacher', `${T}Score`, score({ completionTokenIds: Array(5000).fill(3) }), /items\.0/, 'longer than max positions');
  add('teacher', `${T}Score`, score({}, VOCAB + 1), /top_k/, 'top_k past the vocabulary');
  add('teacher', `${T}Score`, ScoreRequest.encode({ items: Array.from({ length: 1024 }, (_, i) => ({ id: `${i}`, promptTokenIds: [1, 5], completionTokenIds: Array(60).fill(3), privilegedContext: '' })), topK: VOCAB, fullDistribution: true }).finish(), /full_distribution/, 'a reply over the message limit (1024 x 60 tokens, full rows and top-k)');
  add('teacher', `${T}Score`, ScoreRequest.encode({ items: [], topK: 0, fullDistribution: false }).finish(), /items/, 'no items');
  add('teacher', `${T}Generate`, tGen({ sampling: { ...sampling, topP: NaN } }), /sampling\.top_p/, 'NaN top_p');
  add('teacher', `${T}Generate`, tGen({ numSamples: 0 }), /num_samples/, 'zero samples');
  add('verifier', `${V}Verify`, VerifyRequest.encode({ items: [{ taskId: 'add:9:nope', completion: '1', completionTokens: 1 }], weights: {} }).finish(), /items\.0\.task_id/, 'unknown task id');
  add('verifier', `${V}Verify`, VerifyRequest.encode({ items: [{ taskId: task.taskId, completion: '1', completionTokens: -4 }], weights: {} }).finish(), /items\.0\.completion_tokens/, 'negative completion_tokens');
  add('verifier', `${V}Verify`, VerifyRequest.encode({ items: [{ taskId: task.taskId, completion: '1', completionTokens: 1 }], weights: { correctness: NaN } }).finish(), /weights/, 'NaN reward weight');
  add('verifier', `${V}Verify`, VerifyRequest.encode({ items: Array.from({ length: 5000 }, () => ({ taskId: task.taskId, completion: '1', completionTokens: 1 })), weights: {} }).finish(), /items/, '5000 items');
  add('verifier', `${V}ListTasks`, ListTasksRequest.encode({ suite: 'nope:1', split: 'train', limit: 3, seed: 1 }).finish(), /suite/, 'unknown suite');
  add('verifier', `${V}ListTasks`, ListTasksRequest.encode({ suite: 'add:1-2', split: 'train', limit: 2_000_000_000, seed: 1 }).finish(), /limit/, 'two billion tasks');
  add('learner', `${L}Step`, step({ samplingLogprobs: traj.samplingLogprobs.slice(1) }), /sampling_logprobs/, 'logprobs shorter than the completion');
  add('learner', `${L}Step`, step({ samplingLogprobs: traj.samplingLogprobs.map(() => NaN) }), /sampling_logprobs/, 'NaN sampling logprobs');
  add('learner', `${L}Step`, step({ teacher: { ...traj.teacher!, logprobs: traj.teacher!.logprobs.map(() => -Infinity) } }), /teacher\.logprobs/, '-Inf teacher logprobs');
  add('learner', `${L}Step`, step({ teacher: { ...traj.teacher!, logprobs: [...traj.teacher!.logprobs, -1] } }), /teacher\.logprobs/, 'teacher logprobs longer than the completion');
  add('learner', `${L}Step`, step({ completionTokenIds: traj.completionTokenIds.map(() => 1 << 20) }), /completion_token_ids/, 'out-of-range token ids');
  add('learner', `${L}Step`, step({ trajectoryId: '' }), /trajectory_id/, 'empty trajectory id');
  add('learner', `${L}Step`, step({ entropies: traj.completionTokenIds.map(() => NaN) }), /entropies/, 'NaN entropies');
  add('learner', `${L}Step`, step({ entropies: [1] }), /entropies/, 'one entropy for a longer completion');
  add('learner', `${L}Step`, step({ reward: { total: NaN, components: {}, correct: false, parsedAnswer: '', reason: '', formatOk: false } }), /reward\.total/, 'NaN reward');
  add('learner', `${L}Step`, step({ policyVersion: 1_000_000 }), /policy_version/, 'a policy version the learner has not reached');
  add('learner', `${L}Step`, step({ promptTokenIds: Array(5000).fill(3) }), /trajectories\.0/, 'longer than max positions');
  add('learner', `${L}Step`, StepRequest.encode({ trajectories: [], publishWeights: false }).finish(), /trajectories/, 'no trajectories');
  add('learner', `${L}SaveCheckpoint`, SaveCheckpointRequest.encode({ path: '/etc/rlmesh-fuzz' }).finish(), /path/, 'absolute checkpoint path');
  add('learner', `${L}SaveCheckpoint`, SaveCheckpointRequest.encode({ path: '../../../outside' }).finish(), /path/, 'checkpoint path escaping the run');
});

after(async () => {
  for (const c of clients.values()) c.close();
  await nc?.close();
  await h?.destroy();
});

test('hostile but decodable requests get INVALID_ARGUMENT naming the field', async () => {
  const results = await pool(hostile.map((x) => () => call(x, x.bytes)), 4);
  hostile.forEach((x, i) => {
    const out = results[i]!;
    outcomes.push({ method: x.path, kind: 'hostile', out });
    assert.equal(GrpcCode[out.code], 'INVALID_ARGUMENT', `${x.path} with ${x.what}: ${GrpcCode[out.code]} ${out.details}`);
    assert.match(`${out.field ?? ''} ${out.details}`, x.field, `${x.path} with ${x.what} names the field: ${out.details}`);
  });
});

test('random and mutated bytes on every method: OK or INVALID_ARGUMENT, never INTERNAL, no crash', async () => {
  const r = rng(SEED);
  const jobs: Array<{ m: Method; kind: string; bytes: Uint8Array }> = [];
  for (const m of methods) {
    for (let i = 0; i < RANDOM_PER_METHOD; i++) jobs.push({ m, kind: 'random', bytes: randomBytes(r) });
    for (let i = 0; i < MUTATED_PER_METHOD; i++) jobs.push({ m, kind: 'mutated', bytes: mutate(r, m.seed) });
  }
  const results = await pool(jobs.map((j) => () => call(j.m, j.bytes)), 6);
  const bad: string[] = [];
  jobs.forEach((j, i) => {
    const out = results[i]!;
    outcomes.push({ method: j.m.path, kind: j.kind, out });
    const ok = out.code === GrpcCode.OK || (out.code === GrpcCode.INVALID_ARGUMENT && out.details.length > 0)
      || (j.m.path.endsWith('/WatchMetrics') && out.code === GrpcCode.DEADLINE_EXCEEDED);
    if (!ok) bad.push(`${j.m.path} ${j.kind} [${Buffer.from(j.bytes).toString('hex').slice(0, 80)}]: ${GrpcCode[out.code]} ${out.details}`);
    if (out.code === GrpcCode.INVALID_ARGUMENT) assert.ok(out.field, `${j.m.path}: INVALID_ARGUMENT names a field (${out.details})`);
  });
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} calls ended otherwise`);
  for (const m of methods) {
    const mine = outcomes.filter((o) => o.method === m.path && o.kind !== 'hostile');
    process.stdout.write(`fuzz grpc ${m.path}: ${mine.length} inputs ${JSON.stringify(histogram(mine.map((o) => o.out.code)))}\n`);
  }
  // Undecodable bytes were among the inputs of every method, and were refused as `request`.
  for (const m of methods.filter((x) => !x.path.endsWith('/GetPolicy') && !x.path.endsWith('/GetState') && !x.path.endsWith('/WatchMetrics'))) {
    assert.ok(outcomes.some((o) => o.method === m.path && o.out.code === GrpcCode.INVALID_ARGUMENT), `${m.path} refused some input`);
  }
  assert.ok(outcomes.some((o) => o.out.field === 'request'), 'undecodable bytes are refused naming `request`');
});

test('a message over the 64 MiB limit is refused with RESOURCE_EXHAUSTED on every service', async () => {
  const big = new Uint8Array(65 * 1024 * 1024);
  big[0] = 0x0a; // field 1, length-delimited: a plausible start
  for (const m of [methods[0]!, methods[2]!, methods[4]!, methods[6]!]) {
    const out = await call(m, big);
    outcomes.push({ method: m.path, kind: 'oversized', out });
    assert.equal(GrpcCode[out.code], 'RESOURCE_EXHAUSTED', `${m.path}: ${out.details}`);
  }
});

test('every actor process is still alive and SERVING after the fuzzing', async () => {
  for (const [label, p] of h.processes) {
    assert.equal(p.proc.child.exitCode, null, `${label} is alive`);
    assert.equal(p.proc.child.signalCode, null, `${label} was not killed`);
    const hc = healthClient(`127.0.0.1:${p.grpcPort}`);
    try {
      assert.equal(await checkHealth(hc, ''), 'SERVING', label);
    } finally {
      hc.close();
    }
    assert.doesNotMatch(h.log(label), /uncaught|unhandled/i, `${label} log has no uncaught errors`);
  }
  process.stdout.write(`fuzz grpc: ${outcomes.length} inputs in all ${JSON.stringify(histogram(outcomes.map((o) => o.out.code)))}\n`);
});
