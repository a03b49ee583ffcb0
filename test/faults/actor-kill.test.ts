// Actor kills and a hung rollout worker, in one run: the teacher, then the verifier, is SIGKILLed while it holds
// delivered, unacked work and started again; then a rollout worker hangs (SIGSTOP) mid-task for 2 x ack_wait, so
// its tasks are redelivered to the other worker, and it is resumed. The run completes with every dispatched group
// accounted for and no trajectory trained twice. Prints `fault kill {...}` per case and `fault kill run {...}`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, ConsumerName, redeliveriesOf, runNames } from '../../src/platform/nats/index.ts';
import { untilHoldingWork } from '../fixtures/nats-session.ts';
import { RunHarness } from '../e2e/harness.ts';
import { assertNothingLost, redeliveredSpans } from '../e2e/run-checks.ts';

const ACK_WAIT_MS = 3000;
const STEPS = 10; // room for three faults before the last step

const outcomes: Array<Record<string, number | string>> = [];
let summary: Record<string, number> = {};
let h: RunHarness | undefined;
let nc: NatsConnection | undefined;

after(async () => {
  await nc?.close().catch(() => undefined);
  await h?.destroy().catch(() => undefined);
  for (const o of outcomes) process.stdout.write(`fault kill ${JSON.stringify(o)}\n`);
  process.stdout.write(`fault kill run ${JSON.stringify(summary)}\n`);
});

test('teacher and verifier SIGKILLed mid-batch and restarted, a rollout worker hung past ack_wait: nothing lost or trained twice', async () => {
  h = await RunHarness.create({ prefix: 'kill', config: { learner: { steps: STEPS }, nats: { ack_wait_ms: ACK_WAIT_MS, max_deliver: 10 } } });
  await h.startAll(2);
  nc = await connectNats({ servers: h.nats.url, name: 'kill-probe' });
  const jsm = await jetstreamManager(nc);
  const names = runNames(h.runId);
  await h.waitFor((s) => s.step >= 1, 'learner step 1');

  for (const [label, stream, consumer] of [
    ['teacher', names.stages.rewarded.stream, ConsumerName.teacher],
    ['verifier', names.stages.rollouts.stream, ConsumerName.verifier],
  ] as const) {
    const held = await untilHoldingWork(jsm, stream, consumer);
    const before = await h.status();
    await h.kill(label);
    const t0 = Date.now();
    await h.startActor(label);
    const next = await h.waitFor((s) => s.step > before.step || s.state !== 'running', `a learner step after ${label} restarted`, 120_000);
    assert.ok(next.step > before.step, `${label}: the learner trains again after the restart (step ${before.step} -> ${next.step})`);
    outcomes.push({ case: `${label} SIGKILL + restart`, heldUnacked: held, atStep: before.step, recoveryMs: Date.now() - t0 });
  }

  // A rollout worker that hangs mid-task: its unacked tasks come due after ack_wait and go to the other worker.
  const held = await untilHoldingWork(jsm, names.stages.tasks.stream, ConsumerName.rollout);
  const before = await h.status();
  assert.ok(before.state === 'running' && before.step < STEPS, `the run is still training when rollout-1 hangs (step ${before.step} of ${STEPS})`);
  const tasksConsumer = () => jsm.consumers.info(names.stages.tasks.stream, ConsumerName.rollout);
  const redeliveriesAtFreeze = redeliveriesOf(await tasksConsumer());
  h.signal('rollout-1', 'SIGSTOP');
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 2 * ACK_WAIT_MS)); // hung for two ack waits whatever else happens
  // The broker redelivers the hung worker's tasks once their ack_wait passes; the other worker takes them.
  // Counted from the consumer's sequences (redeliveriesOf): the other worker acks the redelivered tasks quickly.
  const redeliveredBy = Date.now() + 30_000;
  let taskRedeliveries = 0;
  while ((taskRedeliveries = redeliveriesOf(await tasksConsumer()) - redeliveriesAtFreeze) <= 0) {
    assert.ok(Date.now() < redeliveredBy, "the hung worker's tasks were never redelivered (gave up waiting after 30 s; a liveness deadline, not a speed target)");
    await new Promise((r) => setTimeout(r, 100));
  }
  const next = await h.waitFor((s) => s.step > before.step || s.state !== 'running', 'a learner step while rollout-1 hangs', 120_000);
  const recoveryMs = Date.now() - t0;
  h.signal('rollout-1', 'SIGCONT');
  assert.ok(next.step > before.step, 'the learner trains while a rollout worker hangs');
  outcomes.push({ case: 'rollout-1 hung (SIGSTOP, >= 2 x ack_wait)', heldUnacked: held, taskRedeliveries, atStep: before.step, stepWithoutIt: next.step, msToNextStep: recoveryMs });

  const final = await h.waitFinished(180_000);
  await h.stopAll();
  assert.equal(final.state, 'finished');
  assert.equal(final.step, STEPS);
  const spans = h.spans();
  const { lost, duplicates, redelivered } = assertNothingLost(h, final, spans);
  assert.equal(duplicates, 0);
  assert.equal(lost, 0);
  const rolloutRedelivered = redeliveredSpans(spans).filter((s) => s.serviceName.includes('rollout')).length;
  summary = {
    dispatched: final.accounting.dispatched, completed: final.accounting.completed, droppedStale: final.accounting.droppedStale,
    inFlight: final.inFlight, deadLettered: final.accounting.deadLettered, redelivered, rolloutRedelivered, lost, duplicates,
  };
});
