// consumeProto: a long-running pull loop over a durable consumer. Decode -> handler in a CONSUMER span
// (parent from the message headers) -> ack; throw -> nak with backoff; last delivery or undecodable ->
// dead letter, then term. Survives handler and connection errors; abort drains in-flight work.
// Batch mode (handleBatch): the messages of a pull that have arrived are decoded, each in its own CONSUMER span,
// and handed over in one call; each is then acked, nakked or dead-lettered by its own outcome, the acks of a
// batch leaving in one socket write.
import { SpanKind } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { RetentionPolicy } from '@nats-io/jetstream';
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { ErrorCategory, isRlmeshError, RlmeshError } from '../../errors.ts';
import { extractTraceContext, isTelemetryActive, recordError, startSpan, withSpan } from '../telemetry/index.ts';
import { deadLetterReason, publishDeadLetter } from './dead-letter.ts';
import { isPermanentError, retryTransient } from './retry.ts';
import { Header } from './headers.ts';
import { protoTypeName } from './proto-types.ts';
import type { ProtoMessageType } from './proto-types.ts';

export interface MessageContext {
  /** original headers (empty when the message had none) */
  headers: MsgHdrs;
  /** 1 on first delivery */
  deliveryCount: number;
  /** this is the last delivery before the message is dead-lettered (deliveryCount >= max_deliver) */
  lastDelivery: boolean;
  subject: string;
  /** stream sequence */
  seq: number;
  /** the payload as received (the encoded message; lets a handler forward or extend it without re-encoding) */
  data: Uint8Array;
  /** the `process <subject>` span; publishes made inside the handler become its children */
  span: Span;
  /** aborted when the loop stops; in-flight handlers are still awaited */
  signal: AbortSignal;
  /** tells the server the message is still being worked on (resets ack_wait) */
  working(): void;
}

export type ProtoHandler<T> = (value: T, ctx: MessageContext) => Promise<void> | void;

export interface BatchItem<T> {
  value: T;
  ctx: MessageContext;
}

/**
 * Handles the decoded messages of one pull at once and settles with one outcome per item, in item order:
 * fulfilled -> acked; rejected -> that message fails as a throwing ProtoHandler's would (nak with backoff, or dead
 * letter when permanent or at its last delivery). A throw fails every item of the batch.
 */
export type ProtoBatchHandler<T> = (items: readonly BatchItem<T>[]) => Promise<readonly PromiseSettledResult<unknown>[]>;

export interface ConsumeOptions<T> {
  stream: string;
  /** durable consumer name */
  consumer: string;
  type: ProtoMessageType<T>;
  /** one message at a time (with `concurrency` at once); exactly one of handler and handleBatch */
  handler?: ProtoHandler<T>;
  /** the messages of a pull together (up to `batch`); `concurrency` then counts batches. */
  handleBatch?: ProtoBatchHandler<T>;
  /** `rlmesh.<run>.dead` */
  deadSubject: string;
  signal?: AbortSignal;
  /** messages per pull. Default 16. */
  batch?: number;
  /** handlers (batch mode: batches) running at once. Default 1. */
  concurrency?: number;
  /** deliveries before dead-lettering; default the consumer's max_deliver. */
  maxDeliver?: number;
  /** nak delay: initialMs * 2^(delivery-1), capped at maxMs. Defaults 500 / 30000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** how long one pull waits for messages, ms (>= 1000); also the longest stop() waits on an idle pull. Default 2000. */
  expiresMs?: number;
  /** errors that retrying cannot fix go straight to the dead letter. Default: RlmeshError of category data/config. */
  isPermanent?: (err: unknown) => boolean;
  /** `Rlmesh-Type` for a type rlmesh does not know; a message whose header names another type is dead-lettered */
  typeName?: string;
  /** called for errors the loop survives (handler failures, pull/transport errors), for logging */
  onError?: (err: unknown, where: 'handler' | 'pull' | 'dead-letter') => void;
}

export interface ConsumeCounters {
  /** handled and acked */
  processed: number;
  /** handler threw (each delivery counts) */
  failed: number;
  deadLettered: number;
  /** deliveries with deliveryCount > 1 */
  redelivered: number;
}

export interface ConsumeLoop {
  readonly counters: Readonly<ConsumeCounters>;
  /** resolves when the loop has stopped and in-flight handlers have finished */
  readonly done: Promise<void>;
  /** aborts the loop and waits for done */
  stop(): Promise<void>;
}

/** How long a last delivery's dead letter is retried before giving up (waits 0.5, 1, 2, 4 s in between). */
const LAST_DEAD_LETTER_RETRY_MS = 8000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Bounds how many handlers run at once. */
function createLimiter(max: number, onError: (err: unknown) => void) {
  let running = 0;
  const waiters: Array<() => void> = [];
  const inflight = new Set<Promise<void>>();
  return {
    async run(task: () => Promise<void>): Promise<void> {
      while (running >= max) await new Promise<void>((r) => waiters.push(r));
      running++;
      const p = task().catch(onError).finally(() => {
        running--;
        inflight.delete(p);
        waiters.shift()?.();
      });
      inflight.add(p);
    },
    idle: () => Promise.all([...inflight]).then(() => undefined),
  };
}

/** A message's context (a class, so no closure is created per message). */
class Delivery implements MessageContext {
  readonly headers: MsgHdrs;
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;

  constructor(private readonly m: JsMsg, readonly deliveryCount: number, readonly lastDelivery: boolean, readonly span: Span, readonly signal: AbortSignal) {
    this.headers = m.headers ?? natsHeaders();
    this.subject = m.subject;
    this.seq = m.seq;
    this.data = m.data;
  }

  working(): void {
    this.m.working();
  }
}

/** Starts the loop; returns at once. Errors never escape `done` (they go to onError). */
export function consumeProto<T>(js: JetStreamClient, opts: ConsumeOptions<T>): ConsumeLoop {
  if ((opts.handler === undefined) === (opts.handleBatch === undefined)) {
    throw new RlmeshError(ErrorCategory.config, 'consumeProto: pass exactly one of handler and handleBatch', { field: 'handler' });
  }
  const counters: ConsumeCounters = { processed: 0, failed: 0, deadLettered: 0, redelivered: 0 };
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  const batch = opts.batch ?? 16;
  const initialMs = opts.backoff?.initialMs ?? 500;
  const maxMs = opts.backoff?.maxMs ?? 30_000;
  const isPermanent = opts.isPermanent ?? isPermanentError;
  const onError = opts.onError ?? (() => undefined);
  const limiter = createLimiter(opts.concurrency ?? 1, (err) => onError(err, 'handler'));
  const source = { stream: opts.stream, consumer: opts.consumer, deadSubject: opts.deadSubject };
  let expectedType: string | undefined;
  try {
    expectedType = protoTypeName(opts.type, opts.typeName);
  } catch {
    expectedType = undefined; // unknown type without typeName: skip the header check
  }

  const nakDelay = (delivery: number) => Math.min(maxMs, initialMs * 2 ** Math.max(0, delivery - 1));

  // A terminated message stays in a work-queue stream (nats-server 2.9) and would count against its bound;
  // once its dead letter is stored we remove it. Set when the loop finds the stream is a work queue.
  let workQueue: JetStreamManager | undefined;

  /**
   * Stores m's dead letter, then removes m. `lastDelivery`: the server will not deliver m again, so a nak would leave
   * it in the stream for good (counted in flight forever): the store is retried for a while before giving up.
   */
  async function deadLetter(m: JsMsg, reason: string, lastDelivery = false): Promise<void> {
    try {
      // (no signal: a stopping loop still stores the dead letters of its last deliveries)
      await retryTransient(() => publishDeadLetter(js, m, source, reason), {
        maxMs: lastDelivery ? LAST_DEAD_LETTER_RETRY_MS : 0, initialMs: 500, onRetry: (err) => onError(err, 'dead-letter'),
      });
    } catch (err) {
      // Could not store the dead letter: keep the message (a later delivery tries again).
      onError(err, 'dead-letter');
      m.nak(nakDelay(m.info.deliveryCount));
      return;
    }
    m.term(reason.slice(0, 200));
    counters.deadLettered++;
    await workQueue?.streams.deleteMessage(opts.stream, m.seq, false).catch((err: unknown) => onError(err, 'dead-letter'));
  }

  const processAttributes = (m: JsMsg, deliveryCount: number) => ({
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.destination.name': m.subject,
    'messaging.consumer.group.name': opts.consumer,
    'messaging.message.delivery_count': deliveryCount,
    ...(m.headers?.get(Header.msgId) ? { 'messaging.message.id': m.headers.get(Header.msgId) } : {}),
  });

  /** The payload, after the `Rlmesh-Type` check; a data error when either fails. */
  function decode(m: JsMsg): T {
    const sentType = m.headers?.get(Header.type);
    try {
      if (expectedType && sentType && sentType !== expectedType) {
        throw new RlmeshError(ErrorCategory.data, `expected ${expectedType}, message says ${sentType}`, { field: Header.type });
      }
      return opts.type.decode(m.data);
    } catch (err) {
      throw isRlmeshError(err) ? err : new RlmeshError(ErrorCategory.data, `cannot decode ${expectedType ?? 'payload'}: ${err instanceof Error ? err.message : String(err)}`, { field: 'payload', cause: err });
    }
  }

  const contextOf = (m: JsMsg, deliveryCount: number, maxDeliver: number, span: Span): MessageContext =>
    new Delivery(m, deliveryCount, deliveryCount >= maxDeliver, span, signal);

  /** A handler failed on m: hand back (stopping), dead-letter (permanent or last delivery) or nak with backoff. */
  async function failed(m: JsMsg, deliveryCount: number, maxDeliver: number, span: Span, err: unknown, handBack: JsMsg[]): Promise<void> {
    counters.failed++;
    recordError(span, err);
    onError(err, 'handler');
    if (signal.aborted && !isPermanent(err)) {
      handBack.push(m); // stopping: hand it back without a delay once the pull is over
    } else if (deliveryCount >= maxDeliver || isPermanent(err)) {
      await deadLetter(m, deadLetterReason(err), deliveryCount >= maxDeliver);
    } else {
      m.nak(nakDelay(deliveryCount));
    }
  }

  async function handle(m: JsMsg, maxDeliver: number, handBack: JsMsg[]): Promise<void> {
    const deliveryCount = m.info.deliveryCount;
    if (deliveryCount > 1) counters.redelivered++;
    const attributes = processAttributes(m, deliveryCount);
    await withSpan(`process ${m.subject}`, { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers), attributes }, async (span) => {
      let value: T;
      try {
        value = decode(m);
      } catch (e) {
        recordError(span, e);
        await deadLetter(m, deadLetterReason(e));
        return;
      }
      try {
        await opts.handler!(value, contextOf(m, deliveryCount, maxDeliver, span));
      } catch (err) {
        await failed(m, deliveryCount, maxDeliver, span, err, handBack);
        return;
      }
      m.ack();
      counters.processed++;
    });
  }

  /** Batch mode: decode each message in its own CONSUMER span, one handleBatch call, then settle each by its outcome. */
  async function handleChunk(msgs: readonly JsMsg[], maxDeliver: number, handBack: JsMsg[]): Promise<void> {
    const traced = isTelemetryActive();
    const items: BatchItem<T>[] = [];
    const held: JsMsg[] = [];
    const waits: Promise<void>[] = [];
    for (const m of msgs) {
      const deliveryCount = m.info.deliveryCount;
      if (deliveryCount > 1) counters.redelivered++;
      const span = traced
        ? startSpan(`process ${m.subject}`, { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers), attributes: processAttributes(m, deliveryCount) })
        : startSpan('', {});
      let value: T;
      try {
        value = decode(m);
      } catch (e) {
        recordError(span, e);
        waits.push(deadLetter(m, deadLetterReason(e)).finally(() => span.end()));
        continue;
      }
      items.push({ value, ctx: contextOf(m, deliveryCount, maxDeliver, span) });
      held.push(m);
    }
    if (items.length > 0) {
      let outcomes: readonly PromiseSettledResult<unknown>[];
      try {
        outcomes = await opts.handleBatch!(items);
        if (outcomes.length !== items.length) {
          throw new RlmeshError(ErrorCategory.config, `handleBatch settled ${outcomes.length} outcomes for ${items.length} messages`, { field: 'handleBatch' });
        }
      } catch (err) {
        outcomes = items.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason: err }));
      }
      for (let i = 0; i < held.length; i++) {
        const m = held[i]!;
        const { span, deliveryCount } = items[i]!.ctx;
        const outcome = outcomes[i]!;
        if (outcome.status === 'fulfilled') {
          m.ack();
          counters.processed++;
          span.end();
        } else {
          waits.push(failed(m, deliveryCount, maxDeliver, span, outcome.reason, handBack).finally(() => span.end()));
        }
      }
    }
    await Promise.all(waits);
  }

  // Messages pulled after abort (or failed while stopping) are handed back only once no pull is open any more:
  // a nak while a pull is still open would be redelivered straight into it.
  const handBack: JsMsg[] = [];

  /** Hands the pull's messages over in chunks: whatever has arrived when the iterator runs dry, at most `batch`. */
  async function pullBatches(pulled: ConsumerMessages, maxDeliver: number): Promise<void> {
    let chunk: JsMsg[] = [];
    const dispatch = async () => {
      const msgs = chunk;
      chunk = [];
      await limiter.run(async () => {
        if (signal.aborted) handBack.push(...msgs);
        else await handleChunk(msgs, maxDeliver, handBack);
      });
    };
    try {
      for await (const m of pulled) {
        chunk.push(m);
        if (chunk.length >= batch || pulled.getPending() === 0) await dispatch();
      }
    } finally {
      // delivered before the pull failed or ended: still handled (or handed back when stopping)
      if (chunk.length > 0) await dispatch();
    }
  }

  async function loop(): Promise<void> {
    let consumer: Consumer | undefined;
    let maxDeliver = opts.maxDeliver;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!consumer) {
          consumer = await js.consumers.get(opts.stream, opts.consumer);
          const jsm = await js.jetstreamManager();
          workQueue = (await jsm.streams.info(opts.stream)).config.retention === RetentionPolicy.Workqueue ? jsm : undefined;
          if (maxDeliver === undefined) {
            const md = (await consumer.info(true)).config.max_deliver;
            maxDeliver = md && md > 0 ? md : Number.POSITIVE_INFINITY;
          }
        }
        // On abort we let the current pull run out (batch filled or expired) rather than stop() it: messages the
        // server sends after a client-side stop would be dropped unseen and stall until ack_wait.
        const pulled: ConsumerMessages = await consumer.fetch({ max_messages: batch, expires: opts.expiresMs ?? 2000 });
        // Handlers of one pull may still run while the next pull starts (a learner waits for a whole batch
        // across pulls); the limiter bounds how many run at once.
        if (opts.handleBatch) {
          await pullBatches(pulled, maxDeliver!);
        } else {
          for await (const m of pulled) {
            await limiter.run(async () => {
              if (signal.aborted) handBack.push(m);
              else await handle(m, maxDeliver!, handBack);
            });
          }
        }
        failures = 0;
      } catch (err) {
        onError(err, 'pull');
        // No wait for in-flight handlers here: a handler may be waiting for messages this loop has yet to pull
        // (a learner assembling a batch), so waiting would deadlock. The limiter still bounds concurrency.
        consumer = undefined;
        failures++;
        await sleep(Math.min(10_000, 200 * 2 ** Math.min(failures, 6)), signal);
      }
    }
    await limiter.idle();
    for (const m of handBack.splice(0)) {
      // A message on its last delivery cannot be handed back: the server would never deliver it again.
      if (maxDeliver !== undefined && m.info.deliveryCount >= maxDeliver) {
        await deadLetter(m, `not processed: the worker stopped during its last delivery (${m.info.deliveryCount} of max_deliver ${maxDeliver}); a nak would leave it in the stream undelivered`, true);
      } else {
        m.nak(0);
      }
    }
  }

  const done = loop().catch((err: unknown) => onError(err, 'pull'));
  return {
    counters,
    done,
    async stop() {
      stopper.abort();
      await done;
    },
  };
}
