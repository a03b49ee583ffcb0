// Span helpers: withSpan (a no-op until initTelemetry runs), W3C context through NATS headers and through a
// trajectory's own trace_context map (one span per trajectory of a batch message), link helpers.
import { context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
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
const state = { active: false, followsParent: false };

/**
 * Marks telemetry started/stopped (called by initTelemetry); while stopped withSpan costs one branch.
 * `followsParent`: the sampler keeps a remote parent's decision (parentbased_*), so a span under an unsampled
 * trace_context is known to be unsampled without asking the SDK.
 */
export function setTelemetryActive(active: boolean, followsParent = false): void {
  state.active = active;
  state.followsParent = active && followsParent;
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

/** A W3C trace context as a string map (a trajectory's `trace_context`); an empty value counts as absent. */
export type TraceContextMap = Readonly<Record<string, string>>;

const mapGetter: TextMapGetter<TraceContextMap> = {
  get: (carrier, key) => {
    const v = carrier[key];
    return v === '' ? undefined : v;
  },
  keys: (carrier) => Object.keys(carrier),
};

const mapSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => { carrier[key] = value; },
};

/**
 * Starts a span the caller ends, parented on the context a trace_context map carries (the trajectory's trace), or on
 * options.parent / the active context when the map carries none. A no-op span while telemetry is stopped. Set
 * attributes after `span.isRecording()` so an unsampled span costs no attribute work.
 */
export function startSpanFromMap(name: string, map: TraceContextMap | undefined, options: { parent?: Context | (() => Context) } = {}): Span {
  if (!state.active) return noopSpan;
  const tp = map?.traceparent;
  // An unsampled trace under a parent-based sampler: the SDK would make a non-recording span; so do we, without
  // parsing the context or asking the sampler (a sampled-at-1% pipeline meets this for 99% of its trajectories).
  if (tp && state.followsParent && unsampledTraceparent(tp)) return noopSpan;
  const parent = tp ? propagation.extract(ROOT_CONTEXT, map, mapGetter) : typeof options.parent === 'function' ? options.parent() : options.parent ?? context.active();
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: SpanKind.INTERNAL }, parent);
}

/** A version-00 W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex flags>`) whose sampled flag is clear. */
function unsampledTraceparent(tp: string): boolean {
  if (tp.length !== 55 || tp.charCodeAt(0) !== 48 || tp.charCodeAt(1) !== 48 || tp.charCodeAt(52) !== 45) return false;
  const last = tp.charCodeAt(54);
  // the sampled bit is the low bit of the last hex digit: even digit = not sampled
  const digit = last >= 48 && last <= 57 ? last - 48 : last >= 97 && last <= 102 ? last - 87 : -1;
  return digit >= 0 && (digit & 1) === 0;
}

/** The span context a map carries, for span links; undefined when it carries none. */
export function spanContextFromMap(map: TraceContextMap | undefined): SpanContext | undefined {
  if (!map?.traceparent) return undefined;
  const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, map, mapGetter));
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** `traceparent`/`tracestate` of ctx (default the active context) as a new map; empty while telemetry is stopped. */
export function traceContextMap(ctx: Context = context.active()): Record<string, string> {
  const out: Record<string, string> = {};
  propagation.inject(ctx, out, mapSetter);
  return out;
}

/**
 * What to write into a trajectory's trace_context after `span` handled it, or undefined to leave it as it is: while
 * telemetry is stopped, and for an unsampled span when the trajectory already carries a context (downstream then
 * parents on the same trace with the same not-sampled decision, so no serialising is needed). Keys of `previous`
 * the new context lacks are kept with an empty value, so the map can be appended to encoded bytes (protobuf maps:
 * the last value of a key wins).
 */
export function traceContextAfter(span: Span, previous: TraceContextMap | undefined): Record<string, string> | undefined {
  if (!state.active) return undefined;
  if (!span.isRecording() && previous?.traceparent) return undefined;
  const out = traceContextMap(trace.setSpan(ROOT_CONTEXT, span));
  if (previous) for (const k of Object.keys(previous)) if (!(k in out)) out[k] = '';
  return out;
}
