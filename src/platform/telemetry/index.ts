// Public surface of telemetry: tracing setup, span file, span helpers, Prometheus metrics.
export type { Telemetry, TelemetryOptions } from './init.ts';
export type { SpanRecord } from './span-file.ts';
export type { HeaderCarrier, SpanOptions, TraceContextMap } from './spans.ts';
export type { ActorMetrics, MetricsServer } from './metrics.ts';
export { initTelemetry } from './init.ts';
export { readSpanFile, SpanFileExporter } from './span-file.ts';
export { samplerFromEnv } from './sampler.ts';
export {
  contextWithSpan,
  currentSpanContext,
  extractTraceContext,
  injectTraceHeaders,
  isTelemetryActive,
  linksTo,
  recordError,
  spanContextFromHeaders,
  spanContextFromMap,
  startSpan,
  startSpanFromMap,
  traceContextAfter,
  traceContextMap,
  withSpan,
} from './spans.ts';
export { createMetrics, serveMetrics } from './metrics.ts';
