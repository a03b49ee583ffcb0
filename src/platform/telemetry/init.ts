// initTelemetry: one tracer provider per service process (OTLP http or a JSON-lines span file), W3C propagation, the
// sampler the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (sampler.ts; default always on), and
// OTEL_SDK_DISABLED=true to run without tracing at all. OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the
// process as the OpenTelemetry specification says (resource.ts).
import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ErrorCategory, RlmeshError } from '../../errors.ts';
import { SpanFileExporter } from './span-file.ts';
import { samplerFromEnv } from './sampler.ts';
import { resourceAttributesFromEnv } from './resource.ts';
import { setTelemetryActive, TRACER_NAME } from './spans.ts';

export interface TelemetryOptions {
  serviceName: string;
  runId?: string;
  attributes?: Attributes;
  /** JSON-lines span file when no OTLP endpoint is set; default `RLMESH_SPAN_FILE`, else `runs/<run>/spans.jsonl`. */
  spanFile?: string;
  /**
   * Environment to read `OTEL_EXPORTER_OTLP_ENDPOINT`, `RLMESH_SPAN_FILE`, `OTEL_TRACES_SAMPLER`(`_ARG`),
   * `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SDK_DISABLED` from; default process.env.
   */
  env?: Record<string, string | undefined>;
}

export interface Telemetry {
  tracer: Tracer;
  /** `otlp`, `file`, or `none` (OTEL_SDK_DISABLED=true: spans are no-ops and no context is propagated) */
  exporter: 'otlp' | 'file' | 'none';
  /** the resource attributes every span of this process carries (the span file keeps service name, instance and pid) */
  resource: Attributes;
  /** the span file, when exporter is `file` */
  spanFile?: string;
  /** Flushes pending spans and unregisters the provider (initTelemetry may be called again after). */
  shutdown(): Promise<void>;
}

let current: NodeTracerProvider | undefined;

function pickExporter(options: TelemetryOptions): { exporter: SpanExporter; kind: 'otlp' | 'file'; spanFile?: string } {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint) {
    // The exporter itself reads OTEL_EXPORTER_OTLP_* (endpoint, headers); we pass the traces URL explicitly.
    return { exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }), kind: 'otlp' };
  }
  const spanFile = options.spanFile ?? env.RLMESH_SPAN_FILE ?? `runs/${options.runId ?? 'default'}/spans.jsonl`;
  return { exporter: new SpanFileExporter(spanFile), kind: 'file', spanFile };
}

/** Starts tracing for this process. Call once per service; a second call before shutdown() is an error. */
export function initTelemetry(options: TelemetryOptions): Telemetry {
  if (!options.serviceName) throw new RlmeshError(ErrorCategory.config, 'serviceName: required', { field: 'serviceName' });
  if (current) throw new RlmeshError(ErrorCategory.config, 'telemetry already initialized in this process', { field: 'serviceName' });
  const env = options.env ?? process.env;
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') {
    return { tracer: trace.getTracer(TRACER_NAME), exporter: 'none', resource: {}, shutdown: async () => undefined };
  }
  const { sampler, name: samplerName } = samplerFromEnv(env);
  const fromEnv = resourceAttributesFromEnv(env);
  const serviceName = String(fromEnv['service.name'] ?? options.serviceName);
  const { exporter, kind, spanFile } = pickExporter(options);
  // The deployment's attributes first (OTEL_RESOURCE_ATTRIBUTES: k8s.pod.name, deployment.environment, ...), then
  // what this process knows about itself, which a deployment cannot misstate.
  const resource = resourceFromAttributes({
    ...fromEnv,
    ...options.attributes,
    'service.name': serviceName,
    'service.instance.id': `${serviceName}-${process.pid}-${randomUUID().slice(0, 8)}`,
    'process.pid': process.pid,
    ...(options.runId ? { 'rlmesh.run_id': options.runId } : {}),
  });
  const provider = new NodeTracerProvider({
    resource,
    sampler,
    // A busy actor ends tens of thousands of spans a second (a verifier: one per trajectory) while one export is
    // in flight; the SDK drops spans past maxQueueSize (default 2048), so the queue holds seconds of them.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500, maxExportBatchSize: 2048, maxQueueSize: 1 << 16 })],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  current = provider;
  setTelemetryActive(true, samplerName.startsWith('parentbased_'));
  let closed = false;
  return {
    tracer: trace.getTracer(TRACER_NAME),
    exporter: kind,
    resource: resource.attributes,
    spanFile,
    async shutdown() {
      if (closed) return;
      closed = true;
      setTelemetryActive(false);
      await provider.forceFlush();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
      current = undefined;
    },
  };
}
