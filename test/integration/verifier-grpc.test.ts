// VerifierReward over gRPC against `rlmesh serve verifier` in a child process: grading, per-item bad completions
// (reward 0 with a reason), request errors (INVALID_ARGUMENT naming the field), ListTasks, health and reflection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RlmeshError } from '../../src/errors.ts';
import { VerifierRewardClient, VerifyItem as VerifyItemCodec, VerifyResponse, type VerifyItem, type VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import { callUnary, createGrpcClient } from '../../src/platform/grpc/index.ts';
import { listTasks, toTaskSpec } from '../../src/tasks/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';
import { checkHealth, healthClient, listServices } from './grpc-test-clients.ts';
import { serveVerifier, type ServedActor } from './verifier-serve.ts';

let server: ServedActor;
let client: VerifierRewardClient;
const [task, other] = listTasks({ suite: 'add:2', limit: 2, seed: 7 });

before(async () => {
  // the run is never provisioned: the NATS worker keeps retrying its pull while gRPC serves
  const spans = path.join(mkdtempSync(path.join(tmpdir(), 'rlmesh-vgrpc-')), 'spans.jsonl');
  server = await serveVerifier(['--nats', SHARED_NATS_URL, '--run', uniqueRunId('vgrpc')], { RLMESH_SPAN_FILE: spans });
  client = createGrpcClient(VerifierRewardClient, `127.0.0.1:${server.grpcPort}`, { deadlineMs: 20_000, retries: 0 });
});

after(async () => {
  client?.close();
  const code = await server?.stop();
  assert.equal(code, 0, `verifier exits 0 after SIGTERM; stderr: ${server?.stderr().slice(-1000)}`);
});

function item(p: Partial<VerifyItem>): VerifyItem {
  return { taskId: '', task: undefined, completion: '', completionTokens: 0, ...p };
}

function verify(items: VerifyItem[], weights: Record<string, number> = {}) {
  const req: VerifyRequest = { items, weights };
  return callUnary(client, 'verify', req);
}

async function refused(items: VerifyItem[], weights: Record<string, number> = {}): Promise<RlmeshError> {
  try {
    await verify(items, weights);
  } catch (e) {
    assert.ok(e instanceof RlmeshError, String(e));
    assert.equal(e.details?.grpcCode, GrpcCode.INVALID_ARGUMENT, e.message);
    return e;
  }
  return assert.fail('expected INVALID_ARGUMENT');
}

test('Verify grades correct, incorrect and malformed completions by task id and by explicit spec', async () => {
  const wrong = task!.referenceSolution.replace(`<answer>${task!.answer}</answer>`, `<answer>${Number(task!.answer) + 1}</answer>`);
  const { rewards } = await verify([
    item({ taskId: task!.taskId, completion: task!.referenceSolution }),
    item({ taskId: task!.taskId, completion: wrong }),
    item({ task: toTaskSpec(other!), completion: other!.referenceSolution }),
    item({ taskId: task!.taskId, completion: `<think>x<answer>${task!.answer}</answer>` }),
  ]);
  assert.equal(rewards.length, 4);
  // default weights: correctness 1 + format 0.1 * (0.5 think + 0.5 answer); no overlong penalty at this length
  assert.deepEqual([rewards[0]!.correct, rewards[0]!.formatOk, rewards[0]!.parsedAnswer], [true, true, task!.answer]);
  assert.ok(Math.abs(rewards[0]!.total - 1.1) < 1e-12, `total ${rewards[0]!.total}`);
  assert.equal(rewards[0]!.components.correctness, 1);
  assert.equal(rewards[1]!.correct, false);
  assert.equal(rewards[1]!.parsedAnswer, String(Number(task!.answer) + 1));
  assert.ok(Math.abs(rewards[1]!.total - 0.1) < 1e-12, 'a wrong answer keeps only the format reward');
  assert.equal(rewards[2]!.correct, true, 'explicit task spec');
  assert.equal(rewards[3]!.total, 0, 'unbalanced tags');
  assert.equal(rewards[3]!.formatOk, false);
  assert.notEqual(rewards[3]!.reason, '');
});

test('Verify uses the request weights; unknown or negative weights are refused naming the field', async () => {
  const { rewards } = await verify([item({ taskId: task!.taskId, completion: task!.referenceSolution })], { correctness: 2, format: 0 });
  assert.equal(rewards[0]!.total, 2);
  assert.match((await refused([item({ taskId: task!.taskId, completion: 'x' })], { bogus: 1 })).message, /weights\.bogus: unknown reward component/);
  assert.match((await refused([item({ taskId: task!.taskId, completion: 'x' })], { format: -1 })).message, /weights\.format/);
});

test('bad completions in one batch each get reward 0 with a reason; the rest are graded', async () => {
  const badUtf8 = Buffer.from([0x3c, 0x61, 0x6e, 0xff, 0xfe, 0x3e]).toString('utf8'); // decodes to U+FFFD
  const completions = [
    '',
    'x'.repeat(1 << 20),
    badUtf8,
    `<think>a<think>b</think></think><answer>${task!.answer}</answer>`,
    `<think>a</think><answer>${task!.answer}`,
    `</answer>${task!.answer}<answer>`,
    task!.referenceSolution,
  ];
  const { rewards } = await verify(completions.map((c) => item({ taskId: task!.taskId, completion: c })));
  assert.equal(rewards.length, completions.length);
  for (const [i, r] of rewards.slice(0, -1).entries()) {
    assert.equal(r.total, 0, `item ${i}: ${r.reason}`);
    assert.equal(r.correct, false, `item ${i}`);
    assert.notEqual(r.reason, '', `item ${i} has a reason`);
  }
  assert.match(rewards[0]!.reason, /empty/);
  assert.match(rewards[1]!.reason, /too long/);
  assert.match(rewards[2]!.reason, /UTF-8/);
  assert.equal(rewards.at(-1)!.correct, true, 'the good item in the same batch is graded');
});

test('invalid UTF-8 bytes on the wire are graded reward 0 with a reason', async () => {
  // VerifyRequest { items: [ { task_id, completion: <raw bytes> } ] } built by hand: no encoder writes invalid UTF-8
  const raw = Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0xff, 0x31]);
  const itemBytes = Buffer.concat([Buffer.from(VerifyItemCodec.encode(item({ taskId: task!.taskId })).finish()), Buffer.from([0x1a, raw.length]), raw]);
  const request = Buffer.concat([Buffer.from([0x0a, itemBytes.length]), itemBytes]);
  const res = await new Promise<VerifyResponse>((resolve, reject) => {
    client.makeUnaryRequest('/rlmesh.v1.VerifierReward/Verify', (b: Buffer) => b, (b: Buffer) => VerifyResponse.decode(b), request,
      (err, value) => (err ? reject(err) : resolve(value!)));
  });
  assert.equal(res.rewards.length, 1);
  assert.equal(res.rewards[0]!.total, 0);
  assert.match(res.rewards[0]!.reason, /invalid UTF-8/);
});

test('request-level problems are INVALID_ARGUMENT naming the field; the service keeps serving', async () => {
  const good = item({ taskId: task!.taskId, completion: task!.referenceSolution });
  assert.equal((await refused([])).field, 'items');
  assert.match((await refused(Array.from({ length: 4097 }, () => good))).message, /at most 4096/);
  const unknownId = await refused([good, good, good, item({ taskId: 'nope/d1/train/1', completion: 'x' })]);
  assert.equal(unknownId.field, 'items.3.task_id');
  assert.match(unknownId.message, /^items\.3\.task_id: unknown task category "nope"/);
  const malformedId = await refused([good, item({ taskId: 'not a task id', completion: 'x' })]);
  assert.equal(malformedId.field, 'items.1.task_id');
  const noTask = await refused([item({ completion: 'x' })]);
  assert.equal(noTask.field, 'items.0.task_id');
  const impossible = await refused([good, item({ task: { ...toTaskSpec(task!), difficulty: 99 }, completion: 'x' })]);
  assert.equal(impossible.field, 'items.1.task.difficulty');
  const badAnswer = await refused([item({ task: { ...toTaskSpec(task!), answer: 'seven' }, completion: 'x' })]);
  assert.equal(badAnswer.field, 'items.0.task.answer');
  const negTokens = await refused([item({ taskId: task!.taskId, completion: 'x', completionTokens: -3 })]);
  assert.equal(negTokens.field, 'items.0.completion_tokens');
  const after = await verify([good]);
  assert.equal(after.rewards[0]!.correct, true, 'a later good call succeeds');
});

test('ListTasks lists the suite deterministically; a bad suite names `suite`', async () => {
  const res = await callUnary(client, 'listTasks', { suite: 'add:1-2,sort:3', split: 'heldout', limit: 5, seed: 3 });
  assert.equal(res.tasks.length, 5);
  const expected = listTasks({ suite: 'add:1-2,sort:3', split: 'heldout', limit: 5, seed: 3 });
  assert.deepEqual(res.tasks.map((t) => t.taskId), expected.map((t) => t.taskId));
  for (const t of res.tasks) assert.equal(t.split, 'heldout');
  assert.ok(res.tasks.some((t) => t.category === 'sort'));
  const listed = await verify(res.tasks.map((t) => item({ taskId: t.taskId, completion: t.referenceSolution })));
  assert.ok(listed.rewards.every((r) => r.correct), 'every listed task verifies its own reference solution');
  await assert.rejects(callUnary(client, 'listTasks', { suite: 'nonsense:1', split: '', limit: 5, seed: 0 }), (e: RlmeshError) => {
    assert.equal(e.field, 'suite');
    assert.equal(e.details?.grpcCode, GrpcCode.INVALID_ARGUMENT);
    return true;
  });
  await assert.rejects(callUnary(client, 'listTasks', { suite: 'arithmetic', split: '', limit: 0, seed: 0 }), (e: RlmeshError) => e.field === 'limit');
});

test('health reports SERVING and reflection lists VerifierReward', async () => {
  const h = healthClient(`127.0.0.1:${server.grpcPort}`);
  try {
    assert.equal(await checkHealth(h, ''), 'SERVING');
    assert.equal(await checkHealth(h, 'rlmesh.v1.VerifierReward'), 'SERVING');
  } finally {
    h.close();
  }
  const services = await listServices(`127.0.0.1:${server.grpcPort}`, 'v1');
  assert.ok(services.includes('rlmesh.v1.VerifierReward'), services.join(', '));
});

test('/metrics counts the graded completions', async () => {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const m = /rlmesh_verifier_verified_total\{source="grpc"[^}]*\} (\d+)/.exec(text);
  assert.ok(m, text.slice(0, 500));
  assert.ok(Number(m[1]) >= 4 + 1 + 7 + 1 + 5);
});
