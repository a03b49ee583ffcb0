// gRPC platform against real servers on loopback: health through drain, reflection, INVALID_ARGUMENT naming
// the field, internal errors hidden, deadlines/cancellation stopping server work, retry on UNAVAILABLE, metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcCode } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { RlmeshError } from '../../src/errors.ts';
import { VerifierRewardClient } from '../../src/generated/rlmesh/v1/verifier.ts';
import type { VerifyRequest } from '../../src/generated/rlmesh/v1/verifier.ts';
import { callUnary, createGrpcClient, createGrpcServer, silentLog } from '../../src/platform/grpc/index.ts';
import type { GrpcLog } from '../../src/platform/grpc/index.ts';
import { addVerifierTestService } from './grpc-fixture-service.ts';
import type { WorkProbe } from './grpc-fixture-service.ts';
import { checkHealth, healthClient, listServices } from './grpc-test-clients.ts';

function verifyRequest(...completions: string[]): VerifyRequest {
  return { items: completions.map((completion) => ({ taskId: 't', completion, completionTokens: 0 })), weights: {} };
}

async function rlmeshError(p: Promise<unknown>): Promise<RlmeshError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RlmeshError, `expected RlmeshError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

async function startTestServer(extra: { drainDelayMs?: number; port?: number; log?: GrpcLog } = {}) {
  const probe: WorkProbe = { ticks: 0, abortedCalls: 0 };
  const registry = new Registry();
  const server = createGrpcServer({ name: 'verifier-test', host: '127.0.0.1', port: 0, drainGraceMs: 5000, log: silentLog, registry, ...extra });
  addVerifierTestService(server, probe);
  const port = await server.start();
  return { server, probe, registry, port, address: `127.0.0.1:${port}` };
}

let shared: Awaited<ReturnType<typeof startTestServer>>;
let client: VerifierRewardClient;
before(async () => {
  shared = await startTestServer();
  client = createGrpcClient(VerifierRewardClient, shared.address, { deadlineMs: 5000 });
});
after(async () => {
  client.close();
  await shared.server.drain();
});

test('a valid unary call round-trips through the wrappers', async () => {
  const res = await callUnary(client, 'verify', verifyRequest('42', 'abc'));
  assert.deepEqual(res.rewards.map((r) => r.total), [2, 3]);
  const tasks = await callUnary(client, 'listTasks', { suite: 'add', split: 'train', limit: 3, seed: 0 });
  assert.deepEqual(tasks.tasks.map((t) => t.taskId), ['add/train/0', 'add/train/1', 'add/train/2']);
});

test('bad requests get INVALID_ARGUMENT naming the field', async () => {
  const raw = await new Promise<ServiceError>((resolve) =>
    client.verify(verifyRequest('ok', ''), (err) => resolve(err!)),
  );
  assert.equal(raw.code, GrpcCode.INVALID_ARGUMENT);
  assert.equal(raw.details, 'items.1.completion: must not be empty');

  const e = await rlmeshError(callUnary(client, 'listTasks', { suite: 'add', split: 'train', limit: 0, seed: 0 }));
  assert.equal(e.category, 'config');
  assert.equal(e.field, 'limit');
  assert.equal(e.details?.grpcCode, GrpcCode.INVALID_ARGUMENT);
  assert.match(e.message, /limit: must be an integer in \[1, 10000\] \(got 0\)/);

  const split = await rlmeshError(callUnary(client, 'listTasks', { suite: 'add', split: 'dev', limit: 1, seed: 0 }));
  assert.equal(split.field, 'split');
  assert.match(split.message, /one of train, heldout/);
});

test('an unexpected throw is INTERNAL with a generic message, and the server keeps serving', async () => {
  const e = await rlmeshError(callUnary(client, 'verify', verifyRequest('throw')));
  assert.equal(e.details?.grpcCode, GrpcCode.INTERNAL);
  assert.equal(e.message, 'internal error');
  assert.ok(!e.message.includes('private'));
  assert.equal((await callUnary(client, 'verify', verifyRequest('x'))).rewards.length, 1);
});

test('a passed deadline aborts ctx.signal and the server work stops', async () => {
  const { probe } = shared;
  const abortedBefore = probe.abortedCalls;
  const ticksBefore = probe.ticks;
  const e = await rlmeshError(callUnary(client, 'verify', verifyRequest('slow'), { deadlineMs: 300 }));
  assert.equal(e.details?.grpcCode, GrpcCode.DEADLINE_EXCEEDED);
  assert.equal(e.category, 'transport');
  // The handler must have run (ticks advanced) and then seen the abort.
  for (let i = 0; i < 100 && probe.abortedCalls === abortedBefore; i++) await sleep(10);
  assert.equal(probe.abortedCalls, abortedBefore + 1);
  assert.ok(probe.ticks > ticksBefore, 'the slow handler ran');
  const ticksAtAbort = probe.ticks;
  await sleep(200);
  assert.equal(probe.ticks, ticksAtAbort, 'no work after the deadline');
});

test('a client abort cancels the call and the server work stops', async () => {
  const { probe } = shared;
  const abortedBefore = probe.abortedCalls;
  const ac = new AbortController();
  const call = callUnary(client, 'verify', verifyRequest('slow'), { signal: ac.signal });
  while (probe.ticks === 0 || shared.server.inFlight() === 0) await sleep(10);
  ac.abort();
  const e = await rlmeshError(call);
  assert.match(e.message, /cancelled/);
  for (let i = 0; i < 100 && probe.abortedCalls === abortedBefore; i++) await sleep(10);
  assert.equal(probe.abortedCalls, abortedBefore + 1);
  const ticksAtAbort = probe.ticks;
  await sleep(200);
  assert.equal(probe.ticks, ticksAtAbort);
  assert.equal(shared.server.inFlight(), 0);
});

test('request and error counters reach the prom-client registry', async () => {
  const count = async (re: RegExp): Promise<number> => Number(re.exec(await shared.registry.metrics())?.[1] ?? 0);
  const series = {
    ok: /rlmesh_grpc_server_handled_total\{grpc_service="rlmesh.v1.VerifierReward",grpc_method="Verify",grpc_code="OK"\} (\d+)/,
    invalid: /rlmesh_grpc_server_handled_total\{[^}]*grpc_method="Verify",grpc_code="INVALID_ARGUMENT"\} (\d+)/,
    deadline: /rlmesh_grpc_server_handled_total\{[^}]*grpc_method="Verify",grpc_code="DEADLINE_EXCEEDED"\} (\d+)/,
    config: /rlmesh_grpc_server_errors_total\{[^}]*grpc_method="Verify",category="config"\} (\d+)/,
    internal: /rlmesh_grpc_server_errors_total\{[^}]*grpc_method="Verify",category="internal"\} (\d+)/,
    started: /rlmesh_grpc_server_started_total\{[^}]*grpc_method="Verify"\} (\d+)/,
  };
  const before: Record<string, number> = {};
  for (const [k, re] of Object.entries(series)) before[k] = await count(re);
  await callUnary(client, 'verify', verifyRequest('a'));
  await callUnary(client, 'verify', verifyRequest('b'));
  await rlmeshError(callUnary(client, 'verify', verifyRequest('')));
  await rlmeshError(callUnary(client, 'verify', verifyRequest('throw')));
  await rlmeshError(callUnary(client, 'verify', verifyRequest('slow'), { deadlineMs: 200 }));
  while (shared.server.inFlight() > 0) await sleep(10);
  const delta = async (k: keyof typeof series): Promise<number> => (await count(series[k])) - before[k]!;
  assert.equal(await delta('started'), 5);
  assert.equal(await delta('ok'), 2);
  assert.equal(await delta('invalid'), 1);
  assert.equal(await delta('config'), 1);
  assert.equal(await delta('internal'), 1);
  assert.equal(await delta('deadline'), 1);
});

test('reflection lists every rlmesh service and health (v1 and v1alpha)', async () => {
  for (const version of ['v1', 'v1alpha'] as const) {
    const names = await listServices(shared.address, version);
    for (const s of ['rlmesh.v1.VerifierReward', 'rlmesh.v1.StudentRollout', 'rlmesh.v1.TeacherScoring', 'rlmesh.v1.LearnerUpdate', 'grpc.health.v1.Health']) {
      assert.ok(names.includes(s), `${version} lists ${s}: ${names.join(', ')}`);
    }
  }
});

test('health is SERVING, then NOT_SERVING during drain; in-flight calls finish', async () => {
  const warnings: string[] = [];
  const log: GrpcLog = { ...silentLog, warn: (m) => warnings.push(m) };
  const { server, address } = await startTestServer({ drainDelayMs: 400, log });
  const health = healthClient(address);
  const c = createGrpcClient(VerifierRewardClient, address, { retries: 0 });
  try {
    assert.equal(await checkHealth(health, ''), 'SERVING');
    assert.equal(await checkHealth(health, 'rlmesh.v1.VerifierReward'), 'SERVING');
    const seen: string[] = [];
    const watch = health.watch({ service: '' });
    const watchEnded = new Promise<void>((resolve) => {
      watch.on('data', (m: { status: string }) => seen.push(m.status));
      watch.on('error', () => resolve());
      watch.on('end', () => resolve());
    });
    while (seen.length === 0) await sleep(10);

    const inFlight = callUnary(c, 'verify', verifyRequest('hold:600'));
    while (server.inFlight() === 0) await sleep(5);
    const drained = server.drain();
    // drainDelayMs: the server still answers, reporting NOT_SERVING.
    assert.equal(await checkHealth(health, ''), 'NOT_SERVING');
    assert.equal(await checkHealth(health, 'rlmesh.v1.VerifierReward'), 'NOT_SERVING');
    assert.equal((await inFlight).rewards[0]!.parsedAnswer, 'hold:600');
    await drained;
    await watchEnded;
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    assert.deepEqual(warnings, [], 'drain finished gracefully, not by the grace timeout');
    const after = await rlmeshError(callUnary(c, 'verify', verifyRequest('x'), { deadlineMs: 2000 }));
    assert.equal(after.details?.grpcCode, GrpcCode.UNAVAILABLE);
  } finally {
    health.close();
    c.close();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('unary calls retry UNAVAILABLE until a late server is up', async () => {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const noRetry = createGrpcClient(VerifierRewardClient, address, { retries: 0 });
  const e = await rlmeshError(callUnary(noRetry, 'verify', verifyRequest('x')));
  assert.equal(e.details?.grpcCode, GrpcCode.UNAVAILABLE);
  noRetry.close();

  const c = createGrpcClient(VerifierRewardClient, address, { retries: 20, retryBackoffMs: 50, retryMaxBackoffMs: 300, deadlineMs: 20_000 });
  let serverUp = false;
  const pending = callUnary(c, 'verify', verifyRequest('late')).then((r) => ({ r, serverUpAtAnswer: serverUp }));
  await sleep(500);
  const late = await startTestServer({ port });
  serverUp = true;
  try {
    const { r, serverUpAtAnswer } = await pending;
    assert.equal(r.rewards[0]!.parsedAnswer, 'late');
    assert.ok(serverUpAtAnswer, 'answered only after the server started');
  } finally {
    c.close();
    await late.server.drain();
  }
});
