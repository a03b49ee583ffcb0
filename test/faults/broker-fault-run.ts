// Broker-fault scenario shared by the NATS restart tests: a private nats-server (own port and store) under a tiny
// run, stopped after learner step 1 for `downMs` and started again; checks the run completes, every dispatched
// group is trained, dropped stale or in flight, no trajectory is trained twice, and records the figures.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { RestartableNats } from './private-nats.ts';

const nats = await RestartableNats.start();
process.env.RLMESH_NATS_URL = nats.url; // read by the harness's fixtures at import
const { RunHarness } = await import('../e2e/harness.ts');
const { assertNothingLost } = await import('../e2e/run-checks.ts');
type Harness = Awaited<ReturnType<typeof RunHarness.create>>;

export const ACK_WAIT_MS = 3000;
export const outcomes: Array<{ case: string; downMs: number; recoveryMs: number; lost: number; duplicates: number; redelivered: number }> = [];
const harnesses: Harness[] = [];

/** Runs a tiny run, restarts the broker after step 1 with `downMs` of downtime, returns the harness after the end. */
export async function runWithRestart(name: string, downMs: number): Promise<void> {
  const h = await RunHarness.create({ prefix: name, config: { learner: { steps: 5 }, nats: { ack_wait_ms: ACK_WAIT_MS, max_deliver: 10 } } });
  harnesses.push(h);
  await h.startAll(2);
  const before = await h.waitFor((s) => s.step >= 1, 'learner step 1');
  await nats.down();
  await new Promise((r) => setTimeout(r, downMs));
  const t0 = Date.now();
  await nats.up();
  // Recovery: the next learner step after the broker is back.
  await h.waitFor((s) => s.step > before.step, 'a learner step after the restart', 120_000);
  const recoveryMs = Date.now() - t0;
  const final = await h.waitFinished(180_000);
  await h.stopAll();
  const spans = h.spans();
  assert.equal(final.state, 'finished', `${name}: run state`);
  assert.equal(final.step, 5);
  for (const [label, p] of h.processes) assert.notEqual(p.proc.child.exitCode, 1, `${label} did not fail`);
  const { lost, duplicates, redelivered } = assertNothingLost(h, final, spans);
  outcomes.push({ case: name, downMs, recoveryMs, lost, duplicates, redelivered });
}

after(async () => {
  for (const h of harnesses) await h.destroy().catch(() => undefined);
  await nats.destroy();
  for (const o of outcomes) process.stdout.write(`fault nats ${JSON.stringify(o)}\n`);
});

