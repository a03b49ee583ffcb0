// Span helpers: withSpan (a no-op until initTelemetry runs), W3C context through NATS headers, link helpers.
import { context, INVALID_SPAN_CONTEXT, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, SpanContext, TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** The part of NATS `MsgHdrs` (or any header map) that propagation needs. */
export interface HeaderCarrier {
  get(key: string): string;
  set(key: string, value: string): void;
  keys(): string[];
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Parent context; default the active one. */
  parent?: Context;
}

export const TRACER_NAME = 'rlmesh';
const state = { active: false };

/** Marks telemetry started/stopped (called by initTelemetry); while stopped withSpan costs one branch. */
export function setTelemetryActive(active: boolean): void {
  state.active = active;
}

export function isTelemetryActive(): boolean {
  return state.active;
}

const noopSpan: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs fn inside a new active span; records a thrown error on the span (status ERROR) and rethrows.
 * The span always ends when fn settles.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  if (!state.active) return fn(noopSpan);
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Starts a span the caller ends (for work that cannot sit inside one callback, e.g. one span per message of a
 * batch); a non-recording span while telemetry is stopped. Parent: options.parent, else the active context.
 */
export function startSpan(name: string, options: SpanOptions): Span {
  if (!state.active) return noopSpan;
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links }, options.parent ?? context.active());
}

/** The context whose active span is span (under parent, default the active context): a parent for child spans. */
export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

/** Marks a span failed with the error's message. */
export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

const setter: TextMapSetter<HeaderCarrier> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

const getter: TextMapGetter<HeaderCarrier> = {
  get: (carrier, key) => {
    const v = carrier.get(key);
    return v === '' ? undefined : v;
  },
  keys: (carrier) => carrier.keys(),
};

/** Writes `traceparent`/`tracestate` for ctx (default: the active context) into headers. */
export function injectTraceHeaders<H extends HeaderCarrier>(headers: H, ctx: Context = context.active()): H {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** The context carried by headers (the root context when they carry none). */
export function extractTraceContext(headers: HeaderCarrier | undefined): Context {
  if (!headers) return context.active();
  return propagation.extract(context.active(), headers, getter);
}

/** The remote span context in headers, for span links; undefined when headers carry none. */
export function spanContextFromHeaders(headers: HeaderCarrier | undefined): SpanContext | undefined {
  if (!headers) return undefined;
  const sc = trace.getSpanContext(propagation.extract(context.active(), headers, getter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** The active span's context, for span links; undefined outside a recording span. */
export function currentSpanContext(): SpanContext | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** Builds links from span contexts, dropping missing ones. */
export function linksTo(contexts: Array<SpanContext | undefined>, attributes?: Attributes): Link[] {
  return contexts.filter((c): c is SpanContext => c !== undefined).map((c) => ({ context: c, attributes }));
}
