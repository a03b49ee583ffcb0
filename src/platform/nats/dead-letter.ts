// Dead letters: the original payload and every original header, plus Rlmesh-Dead-* headers, published to
// rlmesh.<run>.dead. One malformed trajectory of a TrajectoryBatch is dead-lettered on its own, as a batch of one.
// The reason text comes from the one error mapping (src/platform/errors-map.ts).
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { ErrorCategory, isRlmeshError, RlmeshError } from '../../errors.ts';
import { toDeadLetterReason } from '../errors-map.ts';
import { Header, headerValue } from './headers.ts';
import { countTrajectories, joinTrajectories, TRAJECTORY_BATCH_TYPE } from './trajectory-batch.ts';

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

/** The original headers plus the Rlmesh-Dead-* ones. */
function deadHeaders(original: MsgHdrs | undefined, source: DeadLetterSource, reason: string, deliveries: number, subject: string): MsgHdrs {
  const h = natsHeaders();
  if (original) for (const k of original.keys()) for (const v of original.values(k)) h.append(k, v);
  h.set(Header.deadReason, headerValue(reason));
  h.set(Header.deadStream, source.stream);
  h.set(Header.deadConsumer, source.consumer);
  h.set(Header.deadDeliveries, String(deliveries));
  h.set(Header.deadSubject, subject);
  return h;
}

/** Publishes msg to the dead-letter subject; resolves once JetStream has stored it (or deduped a repeat). */
export async function publishDeadLetter(js: JetStreamClient, msg: JsMsg, source: DeadLetterSource, reason: string): Promise<void> {
  // The original Nats-Msg-Id travels too, so a repeat dead letter of the same message is deduped.
  await js.publish(source.deadSubject, msg.data, { headers: deadHeaders(msg.headers, source, reason, msg.info.deliveryCount, msg.subject) });
}

/** The delivered message a trajectory came in (a consumeProto MessageContext has these). */
export interface DeliveredMessage {
  headers: MsgHdrs;
  subject: string;
  seq: number;
  deliveryCount: number;
}

/** One trajectory of a delivered TrajectoryBatch, as received. */
export interface DeadTrajectory {
  /** its trajectory_id ('' when it has none) */
  trajectoryId: string;
  /** its position in the batch */
  index: number;
  /** its encoded bytes as received */
  data: Uint8Array;
}

/**
 * Dead-letters one trajectory of a batch message while the rest of the batch flows on: a TrajectoryBatch holding only
 * it, with the message's headers and the Rlmesh-Dead-* ones. Its Nats-Msg-Id names the trajectory
 * (`<trajectory_id>:<consumer>:dead`, or the message's id and the index when it has no id), so a redelivered batch
 * dead-letters it once. Resolves once JetStream has stored it; a transport error otherwise.
 */
export async function publishDeadTrajectory(js: JetStreamClient, from: DeliveredMessage, source: DeadLetterSource, t: DeadTrajectory, reason: string): Promise<void> {
  const h = deadHeaders(from.headers, source, reason, from.deliveryCount, from.subject);
  const id = t.trajectoryId !== '' ? t.trajectoryId : `${from.headers.get(Header.msgId) || `seq-${from.seq}`}#${t.index}`;
  h.set(Header.msgId, `${id}:${source.consumer}:dead`);
  h.set(Header.type, TRAJECTORY_BATCH_TYPE);
  try {
    await js.publish(source.deadSubject, joinTrajectories([t.data]), { headers: h });
  } catch (err) {
    throw new RlmeshError(ErrorCategory.transport, `dead letter of trajectory ${id} failed: ${err instanceof Error ? err.message : String(err)}`, { field: 'subject', details: { subject: source.deadSubject }, cause: err });
  }
}

/**
 * What one dead letter counts for in a run's accounting: its trajectories for a TrajectoryBatch (a whole batch that
 * ran out of deliveries counts each of them; a malformed one counts 1), else 1.
 */
export function deadLetterWeight(headers: MsgHdrs | undefined, data: Uint8Array): number {
  if (headers?.get(Header.type) !== TRAJECTORY_BATCH_TYPE) return 1;
  try {
    return Math.max(1, countTrajectories(data));
  } catch {
    return 1;
  }
}
