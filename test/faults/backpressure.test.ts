// Backpressure against real NATS: a run provisioned with tiny stream bounds (DiscardPolicy.New). A publish into a
// full stream is refused with a transport error (nothing is stored, nothing already stored is dropped, the process
// goes on); a producer that retries (retryTransient, as the controller and learner do) blocks until a consumer makes
// room and nothing is lost; a stage whose downstream stream is full naks and redelivers until it fits, so every
// message arrives downstream exactly once and nothing is dead-lettered. Prints `fault backpressure {...}`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCategory, isRlmeshError } from '../../src/errors.ts';
import { RolloutTask } from '../../src/generated/rlmesh/v1/common.ts';
import { byteLimitIsSafe, ConsumerName, consumeProto, provisionRun, publishProto, retryTransient, runNames, serverVersionOf } from '../../src/platform/nats/index.ts';
import { useSharedNats } from '../fixtures/nats-session.ts';

const MAX_MSGS = 4;
const figures: Record<string, number | string> = {};
const nats = useSharedNats('rlmesh-test-backpressure');

after(() => {
  process.stdout.write(`fault backpressure ${JSON.stringify(figures)}\n`);
});

const task = (runId: string, i: number, pad = 0): RolloutTask => ({
  runId, dispatchId: `${runId}-g${i}${pad ? `-${'x'.repeat(pad)}` : ''}`, groupSize: 4, minPolicyVersion: 0, dispatchIndex: i, task: undefined,
});

async function tinyRun(prefix: string, opts: { maxMsgs?: number; maxBytes?: number; maxDeliver?: number }): Promise<string> {
  const runId = nats.newRunId(prefix);
  await provisionRun(nats.jsm, runId, { ...opts, ackWaitMs: 2000, maxDeliver: opts.maxDeliver ?? 5 });
  return runId;
}

/** Polls a stream's message count every 10 ms until stopped; resolves with the largest count seen. */
function watchCount(stream: string): { stop(): Promise<number> } {
  let max = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      max = Math.max(max, (await nats.jsm.streams.info(stream)).state.messages);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return { async stop() { on = false; await loop; return max; } };
}

test('a publish into a full stream (max_msgs, max_bytes) is refused as a transport error; what is stored stays', async () => {
  const runId = await tinyRun('bpfull', { maxMsgs: MAX_MSGS });
  const { subject, stream } = runNames(runId).stages.tasks;
  for (let i = 0; i < MAX_MSGS; i++) await publishProto(nats.js, subject, RolloutTask, task(runId, i), { msgId: `${runId}-g${i}:tasks` });
  await assert.rejects(publishProto(nats.js, subject, RolloutTask, task(runId, MAX_MSGS), { msgId: `${runId}-g${MAX_MSGS}:tasks` }), (e: unknown) => {
    assert.ok(isRlmeshError(e) && e.category === ErrorCategory.transport, `transport error, got ${String(e)}`);
    assert.match(e.message, /maximum messages/i);
    return true;
  });
  const info = await nats.jsm.streams.info(stream);
  assert.equal(info.state.messages, MAX_MSGS, 'the refused message was not stored');
  assert.equal(info.state.first_seq, 1, 'nothing already stored was discarded');

  const bytesRun = await tinyRun('bpbytes', { maxBytes: 4096 });
  const b = runNames(bytesRun).stages.tasks;
  const version = serverVersionOf(nats.jsm);
  if (!byteLimitIsSafe(version)) {
    // This server acknowledges a publish past max_bytes on a discard-new stream and then drops the oldest stored
    // messages (nats-server issue 4771; seen here: 13 publishes acknowledged, 4 messages left). The work streams
    // are provisioned without a byte limit then: nothing stored is dropped, the message bound above still holds.
    assert.equal((await nats.jsm.streams.info(b.stream)).config.max_bytes, -1, `nats-server ${version}: no byte limit on discard-new streams`);
    for (let i = 0; i < 20; i++) await publishProto(nats.js, b.subject, RolloutTask, task(bytesRun, i, 600), { msgId: `${bytesRun}-g${i}:tasks` });
    assert.equal((await nats.jsm.streams.info(b.stream)).state.messages, 20, 'every acknowledged message is stored');
    figures.byteLimit = `off (nats-server ${version})`;
    return;
  }
  let stored = 0;
  let refused: unknown;
  for (let i = 0; i < 20 && !refused; i++) {
    try {
      await publishProto(nats.js, b.subject, RolloutTask, task(bytesRun, i, 600), { msgId: `${bytesRun}-g${i}:tasks` });
      stored++;
    } catch (e) {
      refused = e;
    }
  }
  assert.ok(isRlmeshError(refused) && refused.category === ErrorCategory.transport, `max_bytes refusal is a transport error: ${String(refused)}`);
  assert.match((refused as Error).message, /maximum bytes/i);
  assert.equal((await nats.jsm.streams.info(b.stream)).state.messages, stored);
  figures.storedBeforeMaxBytes = stored;
});

test('a retrying producer blocks while the stream is full and delivers everything once as a consumer drains it', async () => {
  const runId = await tinyRun('bpretry', { maxMsgs: MAX_MSGS });
  const names = runNames(runId);
  const N = 24;
  const received: string[] = [];
  const loop = consumeProto(nats.js, {
    stream: names.stages.tasks.stream, consumer: ConsumerName.rollout, type: RolloutTask, deadSubject: names.stages.dead.subject,
    batch: 2, expiresMs: 1000,
    handler: async (t) => { await new Promise((r) => setTimeout(r, 40)); received.push(t.dispatchId); },
  });
  const watch = watchCount(names.stages.tasks.stream);
  let retries = 0;
  try {
    for (let i = 0; i < N; i++) {
      await retryTransient(() => publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task(runId, i), { msgId: `${runId}-g${i}:tasks` }),
        { initialMs: 20, maxMs: 60_000, onRetry: () => { retries++; } });
    }
    const deadline = Date.now() + 60_000;
    while (received.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await loop.stop();
  }
  const maxSeen = await watch.stop();
  assert.ok(retries > 0, 'the producer was refused and retried');
  assert.ok(maxSeen <= MAX_MSGS, `the stream never held more than ${MAX_MSGS} (max seen ${maxSeen})`);
  assert.equal(received.length, N, 'every message was consumed');
  assert.deepEqual([...new Set(received)].sort(), Array.from({ length: N }, (_, i) => `${runId}-g${i}`).sort(), 'each exactly once');
  assert.equal(loop.counters.deadLettered, 0);
  Object.assign(figures, { producerMessages: N, producerRetries: retries, maxStreamMessages: maxSeen });
});

test('a stage whose downstream stream is full naks and redelivers: everything arrives downstream once, nothing dead', async () => {
  const runId = await tinyRun('bpstage', { maxMsgs: MAX_MSGS, maxDeliver: 50 });
  const names = runNames(runId);
  const N = 16;
  const downstream: string[] = [];
  const errors: string[] = [];
  // Upstream stage: tasks -> rollouts (publish without its own retry: a refusal fails the handler, which naks).
  const stage = consumeProto(nats.js, {
    stream: names.stages.tasks.stream, consumer: ConsumerName.rollout, type: RolloutTask, deadSubject: names.stages.dead.subject,
    batch: 4, concurrency: 4, backoff: { initialMs: 50, maxMs: 400 }, expiresMs: 1000,
    onError: (e) => { errors.push(e instanceof Error ? e.message : String(e)); },
    handler: async (t) => { await publishProto(nats.js, names.stages.rollouts.subject, RolloutTask, t, { msgId: `${t.dispatchId}:rollouts` }); },
  });
  // Slow downstream stage.
  const sink = consumeProto(nats.js, {
    stream: names.stages.rollouts.stream, consumer: ConsumerName.verifier, type: RolloutTask, deadSubject: names.stages.dead.subject,
    batch: 1, expiresMs: 1000,
    handler: async (t) => { await new Promise((r) => setTimeout(r, 100)); downstream.push(t.dispatchId); },
  });
  const watch = watchCount(names.stages.rollouts.stream);
  try {
    for (let i = 0; i < N; i++) {
      await retryTransient(() => publishProto(nats.js, names.stages.tasks.subject, RolloutTask, task(runId, i), { msgId: `${runId}-g${i}:tasks` }), { initialMs: 20 });
    }
    const deadline = Date.now() + 90_000;
    while (downstream.length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await stage.stop();
    await sink.stop();
  }
  const maxSeen = await watch.stop();
  assert.equal(downstream.length, N, `every message arrived downstream (${downstream.length}/${N})`);
  assert.equal(new Set(downstream).size, N, 'each exactly once');
  assert.ok(stage.counters.failed > 0, 'the upstream stage was refused at least once (full downstream stream)');
  assert.ok(errors.some((m) => /maximum messages/i.test(m)), 'the refusal was reported to onError');
  assert.equal(stage.counters.deadLettered + sink.counters.deadLettered, 0, 'nothing dead-lettered');
  assert.equal((await nats.jsm.streams.info(names.stages.dead.stream)).state.messages, 0);
  assert.ok(maxSeen <= MAX_MSGS);
  Object.assign(figures, { stageMessages: N, stageRefusals: stage.counters.failed, stageMaxDownstream: maxSeen });
});
