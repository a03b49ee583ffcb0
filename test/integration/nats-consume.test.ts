// Typed publish/consume against the real NATS at RLMESH_NATS_URL: ack, nak -> redelivery, max_deliver ->
// dead letter, permanent errors, malformed payloads, Nats-Msg-Id dedupe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { consumeProto, Header, publishProto, runNames } from '../../src/platform/nats/index.ts';
import type { ConsumeLoop } from '../../src/platform/nats/index.ts';
import { uniqueRunId } from '../fixtures/nats-server.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-consume');


const newRun = (maxDeliver = 5) => nats.newRun('consume', { maxDeliver, ackWaitMs: 30_000 });

function task(dispatchId: string) {
  return RolloutTask.fromPartial({ runId: 'r', dispatchId, groupSize: 4, minPolicyVersion: 2 });
}

async function waitFor(what: string, cond: () => boolean, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > limitMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readDead(names: ReturnType<typeof runNames>, count: number): Promise<JsMsg[]> {
  const c = await nats.js.consumers.get(names.stages.dead.stream, 'gateway');
  const out: JsMsg[] = [];
  while (out.length < count) {
    const m = await c.next({ expires: 5000 });
    assert.ok(m, `expected ${count} dead letters, got ${out.length}`);
    out.push(m);
    m.ack();
  }
  return out;
}

test('published tasks are decoded, handled in order and acked (work queue drains)', async () => {
  const names = await newRun();
  for (let i = 0; i < 5; i++) {
    const r = await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task(`d${i}`), { msgId: `d${i}:tasks` });
    assert.equal(r.duplicate, false);
    assert.equal(r.stream, names.stages.tasks.stream);
  }
  const seen: Array<{ id: string; type: string; count: number }> = [];
  let loop: ConsumeLoop | undefined;
  loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    expiresMs: 1000,
    handler: (t, ctx) => {
      seen.push({ id: t.dispatchId, type: ctx.headers.get(Header.type), count: ctx.deliveryCount });
      assert.equal(t.groupSize, 4);
    },
  });
  await waitFor('5 processed', () => loop!.counters.processed === 5);
  await loop.stop();
  assert.deepEqual(seen.map((s) => s.id), ['d0', 'd1', 'd2', 'd3', 'd4']);
  assert.ok(seen.every((s) => s.type === 'rlmesh.v1.RolloutTask' && s.count === 1));
  assert.deepEqual({ ...loop.counters }, { processed: 5, failed: 0, deadLettered: 0, redelivered: 0 });
  // Work-queue retention: acked messages are gone from the stream.
  const si = await nats.jsm.streams.info(names.stages.tasks.stream);
  assert.equal(si.state.messages, 0);
});

test('a handler error naks the message and it is redelivered, then succeeds', async () => {
  const names = await newRun();
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('flaky'), { msgId: 'flaky:tasks' });
  const deliveries: number[] = [];
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    backoff: { initialMs: 50, maxMs: 200 },
    expiresMs: 1000,
    handler: (_t, ctx) => {
      deliveries.push(ctx.deliveryCount);
      if (ctx.deliveryCount < 3) throw new Error(`transient failure ${ctx.deliveryCount}`);
    },
  });
  await waitFor('processed after retries', () => loop.counters.processed === 1);
  await loop.stop();
  assert.deepEqual(deliveries, [1, 2, 3]);
  assert.deepEqual({ ...loop.counters }, { processed: 1, failed: 2, deadLettered: 0, redelivered: 2 });
});

test('the handler is told which delivery is the last before the dead letter (max_deliver)', async () => {
  const names = await newRun(3);
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('last'), { msgId: 'last:tasks' });
  const seen: Array<[number, boolean]> = [];
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream, consumer: 'rollout', type: RolloutTask, deadSubject: names.stages.dead.subject,
    backoff: { initialMs: 30, maxMs: 100 }, expiresMs: 1000,
    handler: (_t, ctx) => {
      seen.push([ctx.deliveryCount, ctx.lastDelivery]);
      if (!ctx.lastDelivery) throw new Error('not yet');
    },
  });
  await waitFor('processed on its last delivery', () => loop.counters.processed === 1);
  await loop.stop();
  assert.deepEqual(seen, [[1, false], [2, false], [3, true]]);
});

test('past max_deliver the message is dead-lettered with reason and original headers; later messages still flow', async () => {
  const names = await newRun(3);
  const h = natsHeaders();
  h.set('X-Test', 'keep-me');
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('poison'), { msgId: 'poison:tasks', headers: h });
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('good-1'), { msgId: 'good-1:tasks' });
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('bad-input'), { msgId: 'bad-input:tasks' });
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('good-2'), { msgId: 'good-2:tasks' });
  const ok: string[] = [];
  const errors: unknown[] = [];
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    backoff: { initialMs: 30, maxMs: 100 },
    expiresMs: 1000,
    onError: (e) => errors.push(e),
    handler: (t) => {
      if (t.dispatchId === 'poison') throw new Error('model exploded on this prompt');
      if (t.dispatchId === 'bad-input') throw new RlmeshError(ErrorCategory.data, 'task.spec: prompt is empty', { field: 'task.spec' });
      ok.push(t.dispatchId);
    },
  });
  await waitFor('2 dead letters and 2 processed', () => loop.counters.deadLettered === 2 && loop.counters.processed === 2);
  await loop.stop();
  assert.deepEqual(ok.sort(), ['good-1', 'good-2']);
  // poison: 3 deliveries; bad-input: permanent (data) error, dead-lettered on its first delivery.
  assert.equal(loop.counters.failed, 4);
  assert.ok(errors.length >= 4);

  const dead = await readDead(names, 2);
  const byId = new Map(dead.map((m) => [RolloutTask.decode(m.data).dispatchId, m]));
  const poison = byId.get('poison');
  assert.ok(poison, 'poison dead letter present');
  assert.equal(poison.headers!.get(Header.deadReason), 'internal: model exploded on this prompt');
  assert.equal(poison.headers!.get(Header.deadDeliveries), '3');
  assert.equal(poison.headers!.get(Header.deadStream), names.stages.tasks.stream);
  assert.equal(poison.headers!.get(Header.deadConsumer), 'rollout');
  assert.equal(poison.headers!.get('X-Test'), 'keep-me');
  assert.equal(poison.headers!.get(Header.msgId), 'poison:tasks');
  assert.equal(poison.headers!.get(Header.type), 'rlmesh.v1.RolloutTask');
  assert.deepEqual(RolloutTask.decode(poison.data), task('poison'));
  const bad = byId.get('bad-input');
  assert.ok(bad, 'bad-input dead letter present');
  assert.equal(bad.headers!.get(Header.deadDeliveries), '1');
  assert.match(bad.headers!.get(Header.deadReason), /^data: task\.spec: prompt is empty/);
  // Terminated messages left the work queue.
  assert.equal((await nats.jsm.streams.info(names.stages.tasks.stream)).state.messages, 0);
});

test('a malformed protobuf payload is dead-lettered with the decode error and never reaches the handler', async () => {
  const names = await newRun();
  const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
  await nats.js.publish(names.stages.tasks.subject, garbage, { msgID: 'garbage:tasks' });
  // A message claiming another type is refused too.
  const h = natsHeaders();
  h.set(Header.type, 'rlmesh.v1.Trajectory');
  await nats.js.publish(names.stages.tasks.subject, RolloutTask.encode(task('x')).finish(), { msgID: 'wrongtype:tasks', headers: h });
  let calls = 0;
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    expiresMs: 1000,
    handler: () => void calls++,
  });
  await waitFor('2 dead letters', () => loop.counters.deadLettered === 2);
  await loop.stop();
  assert.equal(calls, 0);
  const [first, second] = await readDead(names, 2);
  assert.deepEqual([...first!.data], [...garbage]);
  assert.match(first!.headers!.get(Header.deadReason), /^data: .*cannot decode rlmesh\.v1\.RolloutTask: .+/);
  assert.equal(first!.headers!.get(Header.deadDeliveries), '1');
  assert.match(second!.headers!.get(Header.deadReason), /expected rlmesh\.v1\.RolloutTask, message says rlmesh\.v1\.Trajectory/);
});

test('a repeated Nats-Msg-Id is dropped by the stream and reported as duplicate', async () => {
  const names = await newRun();
  const first = await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('dup'), { msgId: 'dup:tasks' });
  const again = await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('dup'), { msgId: 'dup:tasks' });
  const other = await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('dup'), { msgId: 'dup:rollouts' });
  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true);
  assert.equal(again.seq, first.seq);
  assert.equal(other.duplicate, false);
  assert.equal((await nats.jsm.streams.info(names.stages.tasks.stream)).state.messages, 2);
});

test('publishing to a subject no stream serves is a transport error naming the subject', async () => {
  await assert.rejects(
    publishProto(nats.js, `rlmesh.${uniqueRunId('none')}.tasks`, RolloutTask, task('x'), { timeoutMs: 2000 }),
    (e: unknown) => e instanceof RlmeshError && e.category === 'transport' && /rlmesh\..*\.tasks/.test(e.message),
  );
});

test('stop() waits for the in-flight handler to finish and ack, and hands unstarted messages back', async () => {
  const names = await newRun();
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('slow'), { msgId: 'slow:tasks' });
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('queued'), { msgId: 'queued:tasks' });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = false;
  let finished = false;
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    expiresMs: 1000,
    handler: async (t, ctx) => {
      assert.equal(t.dispatchId, 'slow');
      started = true;
      ctx.working();
      await gate;
      assert.equal(ctx.signal.aborted, true);
      finished = true;
    },
  });
  await waitFor('handler start', () => started);
  let stopped = false;
  const stopping = loop.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(stopped, false, 'stop() resolved while a handler was running');
  release();
  await stopping;
  assert.equal(finished, true);
  assert.equal(loop.counters.processed, 1);
  // 'slow' was acked; 'queued' went back to the stream and another worker gets it now.
  const next = await (await nats.js.consumers.get(names.stages.tasks.stream, 'rollout')).next({ expires: 5000 });
  assert.ok(next, 'queued message available again');
  assert.equal(RolloutTask.decode(next.data).dispatchId, 'queued');
  next.ack();
});

test('a message handed back by a stopping worker on its last delivery is dead-lettered with the reason, not stranded', async () => {
  const names = await newRun(2);
  await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task('last'), { msgId: 'last:tasks' });
  let deliveries = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    backoff: { initialMs: 30, maxMs: 100 },
    expiresMs: 1000,
    onError: () => undefined,
    handler: async (_t, ctx) => {
      deliveries++;
      if (!ctx.lastDelivery) throw new Error('busy, try later');
      await gate; // the worker is stopped while the last delivery waits (a learner holding it for a batch)
      throw new RlmeshError(ErrorCategory.transport, 'worker stopping');
    },
  });
  await waitFor('the last delivery', () => deliveries === 2);
  const stopping = loop.stop();
  release();
  await stopping;
  const [dead] = await readDead(names, 1);
  assert.equal(RolloutTask.decode(dead!.data).dispatchId, 'last');
  assert.match(dead!.headers!.get(Header.deadReason), /not processed: the worker stopped during its last delivery \(2 of max_deliver 2\)/);
  assert.equal(loop.counters.deadLettered, 1);
  assert.equal((await nats.jsm.streams.info(names.stages.tasks.stream)).state.messages, 0, 'nothing left undelivered in the work queue');
});
