// publishProto: typed protobuf publish to JetStream with Nats-Msg-Id dedupe, Rlmesh-Type, W3C trace
// context and a PRODUCER span; resolves with the PubAck (duplicate flagged).
import { SpanKind } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { injectTraceHeaders, withSpan } from '../telemetry/index.ts';
import { Header } from './headers.ts';
import { protoTypeName } from './proto-types.ts';
import type { ProtoMessageType } from './proto-types.ts';

export interface PublishOptions {
  /** dedupe id, `<trajectory_id or dispatch_id>:<stage>`; a repeat within the stream's window is dropped */
  msgId?: string;
  /** extra headers (copied; never mutated) */
  headers?: MsgHdrs | Record<string, string>;
  /** `Rlmesh-Type` for a message type rlmesh does not know (e.g. a test message) */
  typeName?: string;
  /** span attributes to add (rlmesh.run_id, rlmesh.trajectory_id, ...) */
  attributes?: Attributes;
  /** PubAck timeout in ms. Default 10000. */
  timeoutMs?: number;
  /** value already encoded: sent as is instead of encoding value */
  data?: Uint8Array;
}

export interface PublishResult {
  stream: string;
  seq: number;
  /** true when the server dropped it as a repeat of msgId */
  duplicate: boolean;
}

function copyHeaders(src: PublishOptions['headers']): MsgHdrs {
  const h = natsHeaders();
  if (!src) return h;
  if (typeof (src as MsgHdrs).keys === 'function' && typeof (src as MsgHdrs).values === 'function') {
    const m = src as MsgHdrs;
    for (const k of m.keys()) for (const v of m.values(k)) h.append(k, v);
  } else {
    for (const [k, v] of Object.entries(src as Record<string, string>)) h.set(k, v);
  }
  return h;
}

export async function publishProto<T>(
  js: JetStreamClient,
  subject: string,
  type: ProtoMessageType<T>,
  value: T,
  opts: PublishOptions = {},
): Promise<PublishResult> {
  const typeName = protoTypeName(type, opts.typeName);
  let data: Uint8Array;
  try {
    data = opts.data ?? type.encode(value).finish();
  } catch (err) {
    throw new RlmeshError(ErrorCategory.data, `cannot encode ${typeName}: ${err instanceof Error ? err.message : String(err)}`, { field: 'value', cause: err });
  }
  const attributes: Attributes = {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.destination.name': subject,
    'messaging.message.body.size': data.length,
    'rlmesh.message_type': typeName,
    ...(opts.msgId ? { 'messaging.message.id': opts.msgId } : {}),
    ...opts.attributes,
  };
  return withSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const h = copyHeaders(opts.headers);
    h.set(Header.type, typeName);
    injectTraceHeaders(h);
    try {
      const ack = await js.publish(subject, data, { msgID: opts.msgId, headers: h, timeout: opts.timeoutMs ?? 10_000 });
      span.setAttribute('rlmesh.duplicate', ack.duplicate);
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw new RlmeshError(ErrorCategory.transport, `publish to ${subject} failed: ${err instanceof Error ? err.message : String(err)}`, {
        field: 'subject',
        details: { subject },
        cause: err,
      });
    }
  });
}
