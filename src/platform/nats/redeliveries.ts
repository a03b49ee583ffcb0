// Redeliveries on a durable consumer, as the broker counts them.
import type { ConsumerInfo } from '@nats-io/jetstream';

/**
 * Deliveries after the first so far: the delivery sequence counts every delivery, the stream sequence only first
 * deliveries (a run stream starts at 1 and is consumed from the start), so the difference never decreases.
 * (`num_redelivered` is different: redelivered messages still unacked, back to 0 once they are acked.)
 */
export function redeliveriesOf(ci: ConsumerInfo): number {
  return Math.max(0, ci.delivered.consumer_seq - ci.delivered.stream_seq);
}
