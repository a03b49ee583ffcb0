// Broker fault: the run's private nats-server is down for twice the consumers' ack_wait. Unacked deliveries time
// out while nobody can redeliver them; after the restart they are redelivered, the run completes, nothing is lost
// and nothing is trained twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
const { ACK_WAIT_MS, outcomes, runWithRestart } = await import('./broker-fault-run.ts');

test('NATS down for longer than ack_wait (2 x ack_wait): in-flight work is redelivered, nothing lost', async () => {
  await runWithRestart('natsout', 2 * ACK_WAIT_MS);
  assert.equal(outcomes.at(-1)!.lost, 0);
});
