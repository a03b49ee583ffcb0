// OpenTelemetry propagation through gRPC metadata: a TextMap getter/setter so W3C `traceparent`/`tracestate`
// travel in request headers. Uses only @opentelemetry/api (a no-op until the SDK is registered).
import { context, propagation } from '@opentelemetry/api';
import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';

export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key).filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

export const metadataSetter: TextMapSetter<Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

/** The remote parent context carried by incoming metadata (ROOT-based when there is none). */
export function extractTraceContext(md: Metadata, base: Context = context.active()): Context {
  return propagation.extract(base, md, metadataGetter);
}

/** Writes the active (or given) trace context into outgoing metadata. */
export function injectTraceContext(md: Metadata, ctx: Context = context.active()): void {
  propagation.inject(ctx, md, metadataSetter);
}
