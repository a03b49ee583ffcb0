// Broker fault: the run's private nats-server is restarted mid-run (1 s down). Every actor reconnects, in-flight
// work is redelivered, the run completes with every dispatched group accounted for and nothing trained twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
const { outcomes, runWithRestart } = await import('./broker-fault-run.ts');

test('NATS restarted mid-run (1 s down): actors reconnect, the run completes, nothing lost or trained twice', async () => {
  await runWithRestart('natsrst', 1000);
  assert.equal(outcomes.at(-1)!.lost, 0);
});

