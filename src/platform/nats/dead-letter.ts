// Dead letters: the original payload and every original header, plus Rlmesh-Dead-* headers, published to
// rlmesh.<run>.dead. The reason text comes from the one error mapping (src/platform/errors-map.ts).
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { isRlmeshError } from '../../errors.ts';
import { toDeadLetterReason } from '../errors-map.ts';
import { Header, headerValue } from './headers.ts';

export interface DeadLetterSource {
  stream: string;
  consumer: string;
  deadSubject: string;
}

/**
 * One-line reason for a dead letter. Rlmesh errors use the shared mapping; other throws keep their message
 * (dead letters are read by operators, not callers).
 */
export function deadLetterReason(err: unknown): string {
  if (isRlmeshError(err)) return toDeadLetterReason(err);
  return headerValue(`internal: ${err instanceof Error ? err.message : String(err)}`, 512);
}

/** Publishes msg to the dead-letter subject; resolves once JetStream has stored it (or deduped a repeat). */
export async function publishDeadLetter(js: JetStreamClient, msg: JsMsg, source: DeadLetterSource, reason: string): Promise<void> {
  const h = natsHeaders();
  if (msg.headers) for (const k of msg.headers.keys()) for (const v of msg.headers.values(k)) h.append(k, v);
  h.set(Header.deadReason, headerValue(reason));
  h.set(Header.deadStream, source.stream);
  h.set(Header.deadConsumer, source.consumer);
  h.set(Header.deadDeliveries, String(msg.info.deliveryCount));
  h.set(Header.deadSubject, msg.subject);
  // The original Nats-Msg-Id travels too, so a repeat dead letter of the same message is deduped.
  await js.publish(source.deadSubject, msg.data, { headers: h });
}
