// Actor pause: the teacher, then the verifier, is frozen with SIGSTOP mid-run for longer than ack_wait and resumed
// with SIGCONT. Its unacked messages come due for redelivery while it is frozen; the run still completes with
// every dispatched group accounted for and no trajectory trained twice. Prints `fault pause {...}` per actor.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RunHarness } from '../e2e/harness.ts';
import { assertNothingLost } from '../e2e/run-checks.ts';

const ACK_WAIT_MS = 3000;
const PAUSE_MS = 2 * ACK_WAIT_MS; // frozen for two ack waits
const STEPS = 6;

const outcomes: Array<{ actor: string; pausedMs: number; atStep: number; stepAtResume: number; recoveryMs: number }> = [];
let summary: Record<string, number> = {};
let h: RunHarness | undefined;

after(async () => {
  await h?.destroy().catch(() => undefined);
  for (const o of outcomes) process.stdout.write(`fault pause ${JSON.stringify(o)}\n`);
  process.stdout.write(`fault pause run ${JSON.stringify(summary)}\n`);
});

/** Freezes `label` for PAUSE_MS once the learner is at a step, resumes it, and measures SIGCONT -> next learner step. */
async function pauseAndResume(harness: RunHarness, label: string): Promise<void> {
  const before = await harness.status();
  harness.signal(label, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, PAUSE_MS));
  const during = await harness.status();
  const t0 = Date.now();
  harness.signal(label, 'SIGCONT');
  const next = await harness.waitFor((s) => s.step > during.step || s.state !== 'running', `a learner step after ${label} resumed`, 120_000);
  assert.ok(next.step > during.step, `${label}: the learner trains again after SIGCONT (step ${during.step} -> ${next.step})`);
  outcomes.push({ actor: label, pausedMs: PAUSE_MS, atStep: before.step, stepAtResume: during.step, recoveryMs: Date.now() - t0 });
}

test('teacher and verifier frozen (SIGSTOP) for 2 x ack_wait, then resumed: the run completes, nothing lost or trained twice', async () => {
  h = await RunHarness.create({ prefix: 'pause', config: { learner: { steps: STEPS }, nats: { ack_wait_ms: ACK_WAIT_MS, max_deliver: 10 } } });
  await h.startAll(2);
  await h.waitFor((s) => s.step >= 1, 'learner step 1');
  await pauseAndResume(h, 'teacher');
  await pauseAndResume(h, 'verifier');
  const final = await h.waitFinished(180_000);
  await h.stopAll();
  assert.equal(final.state, 'finished');
  assert.equal(final.step, STEPS);
  for (const [label, p] of h.processes) assert.notEqual(p.proc.child.exitCode, 1, `${label} did not fail`);
  const spans = h.spans();
  const { lost, duplicates, redelivered } = assertNothingLost(h, final, spans);
  assert.equal(duplicates, 0);
  // The freeze outlasted ack_wait, so the broker redelivered at least one message of the frozen actors' streams.
  assert.ok(redelivered > 0, 'some message was redelivered after a freeze longer than ack_wait');
  assert.equal(lost, 0);
  summary = { dispatched: final.accounting.dispatched, completed: final.accounting.completed, droppedStale: final.accounting.droppedStale, inFlight: final.inFlight, redelivered, lost, duplicates };
});
