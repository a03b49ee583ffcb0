// Redeliveries in the run's accounting: GET /runs/:id reports `accounting.redelivered` (the broker's count over the
// run's durable consumers). A teacher frozen past ack_wait makes it grow; the consumers' own delivery counts (spans)
// never exceed it; and every dispatched group is completed, dropped stale, in flight or dead-lettered.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, ConsumerName, runNames } from '../../src/platform/nats/index.ts';
import { RunHarness, type RunStatusView } from '../e2e/harness.ts';
import { untilHoldingWork } from '../fixtures/nats-session.ts';
import { assertAccounting, assertTrainedOnce, redeliveredSpans } from '../e2e/run-checks.ts';

const ACK_WAIT_MS = 3000;
type StatusWithRedelivered = RunStatusView & { accounting: RunStatusView['accounting'] & { redelivered: number } };

let h: RunHarness | undefined;
let figures: Record<string, number> = {};

after(async () => {
  await h?.destroy().catch(() => undefined);
  process.stdout.write(`fault redelivered ${JSON.stringify(figures)}\n`);
});

test('accounting.redelivered counts the redeliveries a frozen teacher causes; dispatched = completed + stale + in flight + dead', async () => {
  h = await RunHarness.create({ prefix: 'redeliv', config: { learner: { steps: 5 }, nats: { ack_wait_ms: ACK_WAIT_MS, max_deliver: 10 } } });
  await h.startAll(2);
  const before = (await h.waitFor((s) => s.step >= 1, 'learner step 1')) as StatusWithRedelivered;
  assert.equal(typeof before.accounting.redelivered, 'number', 'GET /runs/:id has accounting.redelivered');
  // Freeze the teacher while it holds delivered, unacked work (otherwise there is nothing of its to redeliver).
  const nc = await connectNats({ servers: h.nats.url, name: 'redeliv-probe' });
  try {
    const jsm = await jetstreamManager(nc);
    await untilHoldingWork(jsm, runNames(h.runId).stages.rewarded.stream, ConsumerName.teacher);
    h.signal('teacher', 'SIGSTOP');
  } finally {
    await nc.close();
  }
  await new Promise((r) => setTimeout(r, 2 * ACK_WAIT_MS));
  h.signal('teacher', 'SIGCONT');
  const final = (await h.waitFinished(180_000)) as StatusWithRedelivered;
  await h.stopAll();
  assert.equal(final.state, 'finished');
  const a = final.accounting;
  const spans = h.spans();
  assertAccounting(h, final, spans);
  assertTrainedOnce(h, spans);
  // Nothing was dead-lettered in this run, so the identity holds with the dead term at zero.
  assert.equal(a.deadLettered, 0);
  assert.equal(a.dispatched, a.completed + a.droppedStale + a.filtered + a.rejected + final.inFlight + a.deadLettered);
  // The freeze outlasted ack_wait: the teacher's unacked messages were redelivered, and the count grew.
  const seen = redeliveredSpans(spans);
  assert.ok(seen.some((s) => s.serviceName.includes('teacher')), 'the teacher processed a redelivered message');
  assert.ok(a.redelivered > before.accounting.redelivered, `redelivered grew over the freeze (${before.accounting.redelivered} -> ${a.redelivered})`);
  // The broker counts every redelivery; a consumer's span exists only for those it processed (a delivery into an
  // expired pull is counted but never handled), so the spans are a lower bound.
  assert.ok(seen.length > 0 && seen.length <= a.redelivered, `redelivered spans ${seen.length} <= broker count ${a.redelivered}`);
  figures = { redeliveredBefore: before.accounting.redelivered, redelivered: a.redelivered, redeliveredSpans: seen.length, dispatched: a.dispatched, completed: a.completed, droppedStale: a.droppedStale, inFlight: final.inFlight, deadLettered: a.deadLettered };
});
