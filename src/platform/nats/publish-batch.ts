// publishProtoBatch: many typed protobuf publishes to one JetStream subject sent in one go (one socket write)
// whose PubAcks are awaited together. Each message keeps what publishProto gives it: Nats-Msg-Id dedupe,
// Rlmesh-Type, W3C trace context and its own PRODUCER span (child of the parent the item names). PubAcks come
// back on one reply subscription per connection, matched by reply subject, with one timer per batch.
import { context, SpanKind } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { JetStreamClient } from '@nats-io/jetstream';
import { createInbox, headers as natsHeaders } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { contextWithSpan, injectTraceHeaders, isTelemetryActive, recordError, startSpan } from '../telemetry/index.ts';
import { Header } from './headers.ts';
import { protoTypeName } from './proto-types.ts';
import type { ProtoMessageType } from './proto-types.ts';
import { publishProto } from './publish.ts';
import type { PublishResult } from './publish.ts';

export interface BatchPublishItem<T> {
  value: T;
  /** value already encoded: sent as is instead of encoding value */
  data?: Uint8Array;
  /** dedupe id, `<trajectory_id or dispatch_id>:<stage>` */
  msgId?: string;
  /** context the PRODUCER span is a child of (and whose trace the headers carry); default the active one */
  parent?: Context;
  /** span attributes to add */
  attributes?: Attributes;
}

export interface BatchPublishOptions {
  /** `Rlmesh-Type` for a message type rlmesh does not know */
  typeName?: string;
  /** how long the whole batch waits for its PubAcks, ms. Default 10000. */
  timeoutMs?: number;
  /**
   * a PRODUCER span per item (default true); false: none, the headers carry the item's parent (default the active
   * context), for callers whose own span already covers the publish
   */
  spans?: boolean;
}

/** Who waits for a reply: item `index` of a batch. */
interface AckWaiter {
  onReply(index: number, reply: Msg | Error): void;
}

/** The reply subscription PubAcks of one connection come back on. */
class AckInbox {
  private readonly prefix: string;
  private readonly waiting = new Map<string, { waiter: AckWaiter; index: number }>();
  private readonly sub: Subscription;
  private next = 0;
  closed = false;

  constructor(nc: NatsConnection, inboxPrefix: string | undefined) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err) return this.failAll(err);
        const w = this.waiting.get(msg.subject);
        if (w) {
          this.waiting.delete(msg.subject);
          w.waiter.onReply(w.index, msg);
        }
      },
    });
    void this.sub.closed.then(
      () => this.failAll(new Error('reply subscription closed')),
      (err: unknown) => this.failAll(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** A fresh reply subject whose one reply goes to waiter (as item index). */
  expect(waiter: AckWaiter, index: number): string {
    const reply = this.prefix + (this.next++).toString(36);
    this.waiting.set(reply, { waiter, index });
    return reply;
  }

  /** Stops waiting for reply (timed out or never sent). */
  forget(reply: string): void {
    this.waiting.delete(reply);
  }

  private failAll(err: Error): void {
    this.closed = true;
    const ws = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of ws) w.waiter.onReply(w.index, err);
  }
}

const inboxes = new WeakMap<NatsConnection, AckInbox>();

function inboxFor(nc: NatsConnection): AckInbox {
  let inbox = inboxes.get(nc);
  if (!inbox || inbox.closed) {
    const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    inbox = new AckInbox(nc, prefix);
    inboxes.set(nc, inbox);
  }
  return inbox;
}

/** The NatsConnection under a nats.js JetStream client (undefined for another implementation). */
export function connectionOf(js: JetStreamClient): NatsConnection | undefined {
  const nc = (js as { nc?: NatsConnection }).nc;
  return nc && typeof nc.publish === 'function' && typeof nc.subscribe === 'function' ? nc : undefined;
}

function publishError(subject: string, message: string, cause?: unknown): RlmeshError {
  return new RlmeshError(ErrorCategory.transport, `publish to ${subject} failed: ${message}`, { field: 'subject', details: { subject }, cause });
}

/** The PubAck in reply (stream, seq, duplicate), or the error it carries. */
function pubAckOf(subject: string, reply: Msg | Error): PublishResult {
  if (reply instanceof Error) throw publishError(subject, reply.message, reply);
  if (reply.headers?.code === 503) throw publishError(subject, 'no responders: no stream serves the subject');
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { code?: number; err_code?: number; description?: string } };
  try {
    ack = reply.json();
  } catch (err) {
    throw publishError(subject, 'PubAck is not JSON', err);
  }
  if (ack.error) throw publishError(subject, `${ack.error.description ?? 'JetStream error'} (${ack.error.err_code ?? ack.error.code ?? '?'})`);
  if (!ack.stream || typeof ack.seq !== 'number') throw publishError(subject, 'invalid PubAck');
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}

/**
 * Publishes every item to subject and settles, in item order, with each PubAck (or why that item failed: a
 * transport RlmeshError naming the subject, a data error when it cannot be encoded). Never rejects as a whole.
 */
export async function publishProtoBatch<T>(
  js: JetStreamClient,
  subject: string,
  type: ProtoMessageType<T>,
  items: readonly BatchPublishItem<T>[],
  opts: BatchPublishOptions = {},
): Promise<PromiseSettledResult<PublishResult>[]> {
  const typeName = protoTypeName(type, opts.typeName);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const nc = connectionOf(js);
  if (!nc) {
    // A JetStream client without its connection (not nats.js's): one publishProto per item, all in flight.
    return Promise.allSettled(items.map((it) => context.with(it.parent ?? context.active(), () =>
      publishProto(js, subject, type, it.value, { msgId: it.msgId, typeName, attributes: it.attributes, timeoutMs, data: it.data }))));
  }
  let inbox: AckInbox;
  try {
    inbox = inboxFor(nc);
  } catch (err) {
    // e.g. the connection is closed: every item fails the way a refused publish does
    const reason = publishError(subject, err instanceof Error ? err.message : String(err), err);
    return items.map((): PromiseSettledResult<PublishResult> => ({ status: 'rejected', reason }));
  }
  const traced = isTelemetryActive();
  const results = new Array<PromiseSettledResult<PublishResult>>(items.length);
  const spans = new Array<Span | undefined>(items.length);
  const replies = new Array<string | undefined>(items.length);
  let open = items.length;
  let release: () => void = () => undefined;
  const allIn = new Promise<void>((resolve) => { release = resolve; });
  const settle = (i: number, outcome: PromiseSettledResult<PublishResult>) => {
    if (results[i]) return;
    results[i] = outcome;
    const span = spans[i];
    if (span) {
      if (outcome.status === 'fulfilled') span.setAttribute('rlmesh.duplicate', outcome.value.duplicate);
      else recordError(span, outcome.reason);
      span.end();
    }
    if (--open === 0) release();
  };
  const waiter: AckWaiter = {
    onReply(i, r) {
      try {
        settle(i, { status: 'fulfilled', value: pubAckOf(subject, r) });
      } catch (err) {
        settle(i, { status: 'rejected', reason: err });
      }
    },
  };
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    let data: Uint8Array;
    try {
      data = it.data ?? type.encode(it.value).finish();
    } catch (err) {
      settle(i, { status: 'rejected', reason: new RlmeshError(ErrorCategory.data, `cannot encode ${typeName}: ${err instanceof Error ? err.message : String(err)}`, { field: 'value', cause: err }) });
      continue;
    }
    const h = natsHeaders();
    h.set(Header.type, typeName);
    if (it.msgId) h.set(Header.msgId, it.msgId);
    if (traced && opts.spans === false) {
      injectTraceHeaders(h, it.parent);
    } else if (traced) {
      const span = startSpan(`publish ${subject}`, {
        kind: SpanKind.PRODUCER,
        parent: it.parent,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'send',
          'messaging.destination.name': subject,
          'messaging.message.body.size': data.length,
          'rlmesh.message_type': typeName,
          ...(it.msgId ? { 'messaging.message.id': it.msgId } : {}),
          ...it.attributes,
        },
      });
      spans[i] = span;
      injectTraceHeaders(h, contextWithSpan(span, it.parent));
    }
    const reply = inbox.expect(waiter, i);
    replies[i] = reply;
    try {
      nc.publish(subject, data, { reply, headers: h });
    } catch (err) {
      inbox.forget(reply);
      settle(i, { status: 'rejected', reason: publishError(subject, err instanceof Error ? err.message : String(err), err) });
    }
  }
  if (open > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allIn, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    for (let i = 0; i < items.length; i++) {
      if (results[i]) continue;
      inbox.forget(replies[i]!);
      settle(i, { status: 'rejected', reason: publishError(subject, `no PubAck within ${timeoutMs} ms`) });
    }
  }
  return results;
}
