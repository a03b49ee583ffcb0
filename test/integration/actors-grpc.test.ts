// The four actors' gRPC endpoints called from this process while each actor runs as its own `rlmesh serve`
// child: StudentRollout (Generate stream, GetPolicy), TeacherScoring (Score: token / top-k / full, Generate),
// VerifierReward (Verify), LearnerUpdate (Step on Generate + Score output, GetState); health, reflection and
// INVALID_ARGUMENT naming the field on every service. The run's streams are provisioned here (no gateway).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcCode } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RlmeshError } from '../../src/errors.ts';
import { StudentRolloutClient, type GenerateRequest } from '../../src/generated/rlmesh/v1/rollout.ts';
import { TeacherScoringClient, type ScoreRequest } from '../../src/generated/rlmesh/v1/teacher.ts';
import { VerifierRewardClient } from '../../src/generated/rlmesh/v1/verifier.ts';
import { LearnerUpdateClient } from '../../src/generated/rlmesh/v1/learner.ts';
import type { Trajectory } from '../../src/generated/rlmesh/v1/common.ts';
import { callUnary, createGrpcClient, streamCall } from '../../src/platform/grpc/index.ts';
import { provisionRun } from '../../src/platform/nats/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { withPrivilegedContext } from '../../src/actors/index.ts';
import { CharTokenizer } from '../../src/engine/tokenizer.ts';
import { RunHarness } from '../e2e/harness.ts';
import { checkHealth, healthClient, listServices } from './grpc-test-clients.ts';

const VOCAB = 104; // models/student and models/teacher share the character vocabulary
const [task, task2] = listTasks({ suite: 'add:1-2', split: 'train', limit: 2, seed: 3 }).map(toTaskSpec);
const sampling = { temperature: 1, topK: 0, topP: 1, maxNewTokens: 16, stopTokenIds: [], seed: 0 };

let h: RunHarness;
let nc: NatsConnection;
let rollout: StudentRolloutClient;
let teacher: TeacherScoringClient;
let verifier: VerifierRewardClient;
let learner: LearnerUpdateClient;
const addr = (label: string) => `127.0.0.1:${h.processes.get(label)!.grpcPort}`;

before(async () => {
  h = await RunHarness.create({ prefix: 'agrpc' });
  nc = await connect({ servers: h.nats.url });
  await provisionRun(await jetstreamManager(nc), h.runId, { withTeacher: true });
  await Promise.all(['rollout', 'teacher', 'verifier', 'learner'].map((l) => h.startActor(l)));
  const opts = { deadlineMs: 60_000, retries: 0 };
  rollout = createGrpcClient(StudentRolloutClient, addr('rollout'), opts);
  teacher = createGrpcClient(TeacherScoringClient, addr('teacher'), opts);
  verifier = createGrpcClient(VerifierRewardClient, addr('verifier'), opts);
  learner = createGrpcClient(LearnerUpdateClient, addr('learner'), opts);
});

after(async () => {
  for (const c of [rollout, teacher, verifier, learner]) c?.close();
  await nc?.close();
  await h?.destroy();
});

async function generate(req: Partial<GenerateRequest>): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for await (const t of streamCall(rollout, 'generate', { runId: '', task, sampling, numSamples: 4, groupId: '', ...req })) out.push(t);
  return out;
}

/** Runs `call`, expects INVALID_ARGUMENT and returns the error's field. */
async function refusedField(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
  } catch (e) {
    assert.ok(e instanceof RlmeshError, String(e));
    assert.equal(e.details?.grpcCode, GrpcCode.INVALID_ARGUMENT, e.message);
    return e.field;
  }
  return assert.fail('expected INVALID_ARGUMENT');
}

test('every actor reports SERVING and lists its service over reflection', async () => {
  const services = { rollout: 'rlmesh.v1.StudentRollout', teacher: 'rlmesh.v1.TeacherScoring', verifier: 'rlmesh.v1.VerifierReward', learner: 'rlmesh.v1.LearnerUpdate' };
  for (const [label, service] of Object.entries(services)) {
    const hc = healthClient(addr(label));
    try {
      assert.equal(await checkHealth(hc, ''), 'SERVING', label);
      assert.equal(await checkHealth(hc, service), 'SERVING', label);
    } finally {
      hc.close();
    }
    const listed = await listServices(addr(label), 'v1');
    assert.ok(listed.includes(service), `${label} reflection lists ${service}: ${listed.join(', ')}`);
  }
  const pids = new Set([...h.processes.values()].map((p) => p.pid));
  assert.equal(pids.size, 4, 'four separate processes');
  assert.ok(![...pids].includes(process.pid));
});

test('Generate streams G trajectories whose per-token arrays align with the completion tokens', async () => {
  const ts = await generate({ groupId: 'g-align', numSamples: 4 });
  assert.equal(ts.length, 4);
  assert.deepEqual(ts.map((t) => t.trajectoryId), ['g-align/0', 'g-align/1', 'g-align/2', 'g-align/3']);
  for (const t of ts) {
    const C = t.completionTokenIds.length;
    assert.ok(C >= 1 && C <= 16, `completion length ${C} within max_new_tokens`);
    assert.equal(t.samplingLogprobs.length, C);
    assert.equal(t.modelLogprobs.length, C);
    assert.equal(t.entropies.length, C);
    assert.ok(t.samplingLogprobs.every((x) => Number.isFinite(x) && x <= 0), 'log-probs are <= 0');
    assert.ok(t.entropies.every((x) => x >= 0 && x <= Math.log(VOCAB) + 1e-4), 'entropies within [0, log V]');
    assert.ok(t.promptTokenIds.length > 0 && [...t.promptTokenIds, ...t.completionTokenIds].every((id) => id >= 0 && id < VOCAB));
    assert.equal(t.groupSize, 4);
    assert.equal(t.task?.taskId, task!.taskId);
  }
  // The same group id seeds the same samples (temperature 1, seed from the group id).
  const again = await generate({ groupId: 'g-align', numSamples: 4 });
  assert.deepEqual(again.map((t) => t.completionTokenIds), ts.map((t) => t.completionTokenIds));
  const info = await callUnary(rollout, 'getPolicy', {});
  assert.equal(info.workerId, 'rollout');
  assert.ok(info.numParameters > 0);
  assert.equal(Number(info.policyVersion), 0);
});

test('Score returns per-token log-probs of the completion, top-k rows and the full distribution', async () => {
  const [t] = await generate({ groupId: 'g-score', numSamples: 1 });
  const C = t!.completionTokenIds.length;
  const K = 5;
  const req: ScoreRequest = { items: [{ id: 'a', promptTokenIds: t!.promptTokenIds, completionTokenIds: t!.completionTokenIds, privilegedContext: '' }], topK: K, fullDistribution: true };
  const { scores } = await callUnary(teacher, 'score', req);
  assert.equal(scores.length, 1);
  const s = scores[0]!;
  assert.equal(s.logprobs.length, C);
  assert.equal(s.entropies.length, C);
  assert.equal(s.topK, K);
  assert.equal(s.topkIds.length, C * K);
  assert.equal(s.topkLogprobs.length, C * K);
  assert.deepEqual(s.fullLogprobs?.shape.map(Number), [C, VOCAB]);
  const full = s.fullLogprobs!.data;
  assert.equal(full.length, C * VOCAB);
  for (let i = 0; i < C; i++) {
    const row = full.slice(i * VOCAB, (i + 1) * VOCAB);
    const mass = row.reduce((a, x) => a + Math.exp(x), 0);
    assert.ok(Math.abs(mass - 1) < 1e-3, `row ${i} sums to ${mass}`);
    assert.ok(Math.abs(row[t!.completionTokenIds[i]!]! - s.logprobs[i]!) < 1e-4, `token log-prob ${i} matches the full row`);
    const top = s.topkLogprobs.slice(i * K, (i + 1) * K);
    for (let k = 1; k < K; k++) assert.ok(top[k - 1]! >= top[k]!, 'top-k sorted descending');
    assert.ok(Math.abs(top[0]! - Math.max(...row)) < 1e-4, 'top-1 is the row maximum');
    assert.ok(Math.abs(row[s.topkIds[i * K]!]! - top[0]!) < 1e-4, 'top-1 id points at its log-prob');
  }
  // Without top_k / full: only the token log-probs.
  const plain = (await callUnary(teacher, 'score', { ...req, topK: 0, fullDistribution: false })).scores[0]!;
  assert.equal(plain.logprobs.length, C);
  assert.equal(plain.topkIds.length, 0);
  assert.equal(plain.fullLogprobs, undefined);
  for (let i = 0; i < C; i++) assert.ok(Math.abs(plain.logprobs[i]! - s.logprobs[i]!) < 1e-4);

  // A privileged context is read before the prompt: the same scores as sending those ids as the prompt.
  const context = '7+8=15';
  const item = req.items[0]!;
  const privileged = (await callUnary(teacher, 'score', { items: [{ ...item, privilegedContext: context }], topK: 0, fullDistribution: false })).scores[0]!;
  const asPrompt = (await callUnary(teacher, 'score', { items: [{ ...item, promptTokenIds: withPrivilegedContext(CharTokenizer.builtin(), item.promptTokenIds, context) }], topK: 0, fullDistribution: false })).scores[0]!;
  assert.ok(privileged.logprobs.some((x, i) => Math.abs(x - plain.logprobs[i]!) > 1e-3), 'the context changes the scores');
  for (let i = 0; i < C; i++) assert.ok(Math.abs(privileged.logprobs[i]! - asPrompt.logprobs[i]!) < 1e-4, `token ${i}`);

  const gen = await callUnary(teacher, 'generate', { task: task2, sampling, numSamples: 2 });
  assert.equal(gen.completions.length, 2);
  for (const c of gen.completions) assert.equal(c.samplingLogprobs.length, c.completionTokenIds.length);
});

test('Verify grades the reference solution correct and a generated completion with a reward', async () => {
  const [t] = await generate({ groupId: 'g-verify', numSamples: 1 });
  const { rewards } = await callUnary(verifier, 'verify', {
    items: [
      { taskId: task!.taskId, task: undefined, completion: task!.referenceSolution, completionTokens: 10 },
      { taskId: task!.taskId, task: undefined, completion: t!.completionText, completionTokens: t!.completionTokenIds.length },
    ],
    weights: {},
  });
  assert.equal(rewards.length, 2);
  assert.equal(rewards[0]!.correct, true);
  assert.ok(rewards[0]!.total > 1);
  assert.ok(Number.isFinite(rewards[1]!.total));
});

test('Step trains on Generate + Score trajectories; step and policy version advance; rollout follows the weights', async () => {
  const before = await callUnary(learner, 'getState', {});
  assert.equal(before.runId, h.runId);
  assert.equal(Number(before.step), 0);
  assert.equal(before.objective, 'opd-reverse-kl');
  const ts = [...await generate({ groupId: 'g-step-a', numSamples: 4 }), ...await generate({ task: task2, groupId: 'g-step-b', numSamples: 4 })];
  const { scores } = await callUnary(teacher, 'score', {
    items: ts.map((t) => ({ id: t.trajectoryId, promptTokenIds: t.promptTokenIds, completionTokenIds: t.completionTokenIds, privilegedContext: '' })),
    topK: 0, fullDistribution: false,
  });
  const scored = ts.map((t, i) => ({ ...t, teacher: scores[i] }));
  const res = await callUnary(learner, 'step', { trajectories: scored, publishWeights: true });
  assert.equal(Number(res.step), 1);
  assert.equal(Number(res.policyVersion), 1);
  assert.equal(res.used, 8);
  assert.equal(res.droppedStale, 0);
  for (const k of ['loss', 'grad_norm', 'reverse_kl', 'entropy', 'accuracy']) assert.ok(Number.isFinite(res.metrics[k]), `metric ${k}: ${res.metrics[k]}`);
  assert.ok(res.metrics.grad_norm! > 0);
  // The reverse KL the learner reports is the mean of sampling - teacher log-probs over the batch's tokens.
  let kl = 0, n = 0;
  for (const t of scored) t.teacher!.logprobs.forEach((tl, i) => { kl += t.samplingLogprobs[i]! - tl; n++; });
  assert.ok(Math.abs(res.metrics.reverse_kl! - kl / n) < 1e-4, `reverse_kl ${res.metrics.reverse_kl} vs ${kl / n}`);

  const state = await callUnary(learner, 'getState', {});
  assert.equal(Number(state.step), 1);
  assert.equal(Number(state.policyVersion), 1);
  assert.equal(Number(state.trajectoriesTrained), 8);
  assert.match(state.lastCheckpoint, /checkpoints\/latest$/);

  const second = await callUnary(learner, 'step', { trajectories: scored, publishWeights: false });
  assert.equal(Number(second.step), 2, 'a second step advances again');

  // The rollout process swaps in the announced v1 weights (published through NATS + the object store).
  let version = 0;
  for (let i = 0; i < 120 && version < 1; i++) {
    version = Number((await callUnary(rollout, 'getPolicy', {})).policyVersion);
    if (version < 1) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(version >= 1, `rollout serves policy v${version}`);
});

test('bad requests are INVALID_ARGUMENT naming the field', async () => {
  assert.equal(await refusedField(() => generate({ numSamples: 0 })), 'num_samples');
  assert.equal(await refusedField(() => generate({ task: { ...task!, prompt: '' } })), 'task.prompt');
  // 63 characters + <bos> fill the 64-position context of models/student and models/teacher: no room for a completion.
  const full = { ...task!, prompt: '1+2=?'.padEnd(63, ' ') };
  assert.equal(await refusedField(() => generate({ task: full })), 'task.prompt');
  assert.equal(await refusedField(() => callUnary(teacher, 'generate', { task: full, sampling, numSamples: 1 })), 'task.prompt');
  const fits = await generate({ task: { ...task!, prompt: full.prompt.slice(0, 62) }, groupId: 'g-fits', numSamples: 1 });
  assert.equal(fits[0]!.completionTokenIds.length, 1, 'a 62-character prompt leaves one position for the completion');
  assert.equal(await refusedField(() => generate({ sampling: { ...sampling, temperature: -1 } })), 'sampling.temperature');
  const item = { id: 'x', promptTokenIds: [5, 6], completionTokenIds: [7], privilegedContext: '' };
  assert.equal(await refusedField(() => callUnary(teacher, 'score', { items: [{ ...item, promptTokenIds: [] }], topK: 0, fullDistribution: false })), 'items.0.prompt_token_ids');
  assert.equal(await refusedField(() => callUnary(teacher, 'score', { items: [item, { ...item, completionTokenIds: [VOCAB] }], topK: 0, fullDistribution: false })), 'items.1.completion_token_ids.0');
  assert.equal(await refusedField(() => callUnary(teacher, 'score', { items: [{ ...item, privilegedContext: 'x'.repeat(60) }], topK: 0, fullDistribution: false })), 'items.0', 'context + prompt + completion past the context');
  assert.equal(await refusedField(() => callUnary(teacher, 'score', { items: [item], topK: VOCAB + 1, fullDistribution: false })), 'top_k');
  assert.equal(await refusedField(() => callUnary(teacher, 'generate', { task, sampling, numSamples: 0 })), 'num_samples');
  assert.equal(await refusedField(() => callUnary(verifier, 'verify', { items: [], weights: {} })), 'items');
  assert.equal(await refusedField(() => callUnary(verifier, 'verify', { items: [{ taskId: 'add/d9/train/nope', task: undefined, completion: 'x', completionTokens: 1 }], weights: {} })), 'items.0.task_id');

  const [t] = await generate({ groupId: 'g-bad', numSamples: 1 });
  const { scores } = await callUnary(teacher, 'score', { items: [{ id: 'a', promptTokenIds: t!.promptTokenIds, completionTokenIds: t!.completionTokenIds, privilegedContext: '' }], topK: 0, fullDistribution: false });
  const good = { ...t!, teacher: scores[0] };
  assert.equal(await refusedField(() => callUnary(learner, 'step', { trajectories: [], publishWeights: false })), 'trajectories');
  assert.equal(await refusedField(() => callUnary(learner, 'step', { trajectories: [good, { ...good, samplingLogprobs: good.samplingLogprobs.slice(1) }], publishWeights: false })), 'trajectories.1.sampling_logprobs');
  assert.equal(await refusedField(() => callUnary(learner, 'step', { trajectories: [{ ...good, teacher: undefined }], publishWeights: false })), 'trajectories.0.teacher');
  // A refused Step trains nothing.
  const state = await callUnary(learner, 'getState', {});
  assert.equal(Number(state.step), 2);
});
