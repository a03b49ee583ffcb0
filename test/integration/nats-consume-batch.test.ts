// consumeProto's batch mode and publishProtoBatch against the real NATS at RLMESH_NATS_URL: per-item outcomes
// (ack, nak -> redelivery, permanent -> dead letter), undecodable messages dead-lettered before the handler,
// a throwing batch handler, PubAcks with duplicates flagged, a subject no stream serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { ErrorCategory, RlmeshError } from '../../src/errors.ts';
import { connectNats, consumeProto, Header, publishProto, publishProtoBatch } from '../../src/platform/nats/index.ts';
import { SHARED_NATS_URL, uniqueRunId } from '../fixtures/nats-server.ts';
import { readMessages, useSharedNats } from '../fixtures/nats-session.ts';

const nats = useSharedNats('rlmesh-test-consume-batch');

const newRun = (maxDeliver = 5) => nats.newRun('cbatch', { maxDeliver, ackWaitMs: 30_000 });

const task = (dispatchId: string) => RolloutTask.fromPartial({ runId: 'r', dispatchId, groupSize: 4 });

async function waitFor(what: string, cond: () => boolean, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > limitMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readAll = (stream: string, consumer: string, count: number) => readMessages(nats.js, stream, consumer, count);

test('publishProtoBatch settles each item in order with its PubAck; a repeated msg id is flagged duplicate', async () => {
  const names = await newRun();
  const subject = names.stages.tasks.subject;
  const ids = Array.from({ length: 40 }, (_, i) => `b${i}`);
  const first = await publishProtoBatch(nats.js, subject, RolloutTask, ids.map((id) => ({ value: task(id), msgId: `${id}:tasks` })));
  assert.equal(first.length, 40);
  const seqs = first.map((r) => {
    assert.equal(r.status, 'fulfilled');
    return r.status === 'fulfilled' ? r.value : undefined;
  });
  assert.ok(seqs.every((a) => a?.duplicate === false && a.stream === names.stages.tasks.stream));
  assert.equal(new Set(seqs.map((a) => a!.seq)).size, 40, 'every item stored once');
  const again = await publishProtoBatch(nats.js, subject, RolloutTask, [{ value: task('b3'), msgId: 'b3:tasks' }, { value: task('new'), msgId: 'new:tasks' }]);
  assert.deepEqual(again.map((r) => r.status === 'fulfilled' && r.value.duplicate), [true, false]);
  assert.equal(again[0]!.status === 'fulfilled' && again[0]!.value.seq, seqs[3]!.seq);
  const stored = await readAll(names.stages.tasks.stream, 'rollout', 41);
  assert.equal(stored[0]!.headers?.get(Header.msgId), 'b0:tasks');
  assert.equal(stored[0]!.headers?.get(Header.type), 'rlmesh.v1.RolloutTask');
  assert.deepEqual(RolloutTask.decode(stored[7]!.data), task('b7'));
});

test('publishProtoBatch through a JetStream client without its connection sends each item\'s encoded bytes (not an empty value)', async () => {
  const names = await newRun();
  const subject = names.stages.tasks.subject;
  // Only publish: the fallback path of publishProtoBatch (one publishProto per item).
  const bare = { publish: nats.js.publish.bind(nats.js) } as unknown as typeof nats.js;
  const encoded = RolloutTask.encode(task('pre-encoded')).finish();
  const out = await publishProtoBatch(bare, subject, RolloutTask, [{ value: task('ignored'), data: encoded, msgId: 'enc:tasks' }, { value: task('plain') }]);
  assert.deepEqual(out.map((r) => r.status), ['fulfilled', 'fulfilled']);
  const stored = await readAll(names.stages.tasks.stream, 'rollout', 2);
  assert.equal(RolloutTask.decode(stored[0]!.data).dispatchId, 'pre-encoded');
  assert.equal(RolloutTask.decode(stored[1]!.data).dispatchId, 'plain');
});

test('publishProtoBatch to a subject no stream serves rejects each item with a transport error naming the subject', async () => {
  const subject = `rlmesh.${uniqueRunId('none')}.tasks`;
  const out = await publishProtoBatch(nats.js, subject, RolloutTask, [{ value: task('x') }, { value: task('y') }], { timeoutMs: 3000 });
  assert.equal(out.length, 2);
  for (const r of out) {
    assert.equal(r.status, 'rejected');
    const e = r.status === 'rejected' ? r.reason : undefined;
    assert.ok(e instanceof RlmeshError && e.category === ErrorCategory.transport, String(e));
    assert.match(e.message, /rlmesh\..*\.tasks/);
  }
});

test('publishProtoBatch on a closed connection rejects each item (never the whole call) with a transport error', async () => {
  const closed = await connectNats({ servers: SHARED_NATS_URL, name: 'rlmesh-test-consume-batch-closed' });
  const cjs = jetstream(closed);
  await closed.close();
  const out = await publishProtoBatch(cjs, 'rlmesh.closed.tasks', RolloutTask, [{ value: task('x') }, { value: task('y') }], { timeoutMs: 1000 });
  assert.deepEqual(out.map((r) => r.status), ['rejected', 'rejected']);
  for (const r of out) assert.ok(r.status === 'rejected' && r.reason instanceof RlmeshError && r.reason.category === ErrorCategory.transport, String(r));
});

test('batch mode: items acked, nakked and redelivered, or dead-lettered by their own outcome; garbage never reaches the handler', async () => {
  const names = await newRun(3);
  const ids = ['ok-1', 'flaky', 'bad-input', 'ok-2', 'poison', 'ok-3'];
  for (const id of ids) await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task(id), { msgId: `${id}:tasks` });
  await nats.js.publish(names.stages.tasks.subject, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), { msgID: 'garbage:tasks' });
  const handled: string[] = [];
  const batchSizes: number[] = [];
  let flakyTries = 0;
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    batch: 16,
    concurrency: 2,
    backoff: { initialMs: 30, maxMs: 100 },
    expiresMs: 1000,
    handleBatch: async (items) => {
      batchSizes.push(items.length);
      return items.map(({ value, ctx }): PromiseSettledResult<unknown> => {
        assert.equal(ctx.subject, names.stages.tasks.subject);
        if (value.dispatchId === 'flaky' && ++flakyTries < 2) return { status: 'rejected', reason: new Error('busy, try later') };
        if (value.dispatchId === 'poison') return { status: 'rejected', reason: new Error('model exploded') };
        if (value.dispatchId === 'bad-input') return { status: 'rejected', reason: new RlmeshError(ErrorCategory.data, 'task.spec: prompt is empty', { field: 'task.spec' }) };
        handled.push(value.dispatchId);
        return { status: 'fulfilled', value: undefined };
      });
    },
  });
  await waitFor('4 processed and 3 dead letters', () => loop.counters.processed === 4 && loop.counters.deadLettered === 3);
  await loop.stop();
  assert.deepEqual(handled.sort(), ['flaky', 'ok-1', 'ok-2', 'ok-3']);
  assert.ok(batchSizes[0]! > 1, `the first pull is handed over as one batch (sizes ${batchSizes.join(',')})`);
  assert.equal(flakyTries, 2);
  // poison: 3 deliveries; flaky: 1 failure; bad-input: permanent, dead-lettered at once
  assert.equal(loop.counters.failed, 5);
  assert.ok(loop.counters.redelivered >= 3);
  const dead = await readAll(names.stages.dead.stream, 'gateway', 3);
  const reasons = dead.map((m) => m.headers!.get(Header.deadReason)).sort();
  assert.match(reasons[0]!, /^data: .*cannot decode rlmesh\.v1\.RolloutTask/);
  assert.match(reasons[1]!, /^data: task\.spec: prompt is empty/);
  assert.equal(reasons[2], 'internal: model exploded');
  assert.equal((await nats.jsm.streams.info(names.stages.tasks.stream)).state.messages, 0, 'every message acked or terminated');
});

test('batch mode: a throwing batch handler fails every item of the batch (redelivered, then handled)', async () => {
  const names = await newRun(5);
  for (const id of ['a', 'b', 'c']) await publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task(id), { msgId: `${id}:tasks` });
  let calls = 0;
  const handled = new Set<string>();
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream,
    consumer: 'rollout',
    type: RolloutTask,
    deadSubject: names.stages.dead.subject,
    batch: 8,
    backoff: { initialMs: 30, maxMs: 60 },
    expiresMs: 1000,
    handleBatch: async (items) => {
      if (calls++ === 0) throw new Error('grader not ready');
      for (const it of items) handled.add(it.value.dispatchId);
      return items.map((): PromiseSettledResult<unknown> => ({ status: 'fulfilled', value: undefined }));
    },
  });
  await waitFor('3 processed', () => loop.counters.processed === 3);
  await loop.stop();
  assert.deepEqual([...handled].sort(), ['a', 'b', 'c']);
  assert.ok(loop.counters.failed >= 1);
  assert.equal(loop.counters.deadLettered, 0);
});

test('consumeProto refuses both or neither of handler and handleBatch', () => {
  const base = { stream: 's', consumer: 'c', type: RolloutTask, deadSubject: 'd' };
  assert.throws(() => consumeProto(nats.js, base), (e: unknown) => e instanceof RlmeshError && e.category === ErrorCategory.config);
  assert.throws(
    () => consumeProto(nats.js, { ...base, handler: () => undefined, handleBatch: async () => [] }),
    (e: unknown) => e instanceof RlmeshError && e.field === 'handler',
  );
});
