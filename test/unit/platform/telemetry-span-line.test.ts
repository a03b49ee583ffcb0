// The span file's hand-written line serializer writes exactly what JSON.stringify of the span record would, for
// spans with and without parents, attribute kinds the file keeps and drops, links, events and error statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { spanLine, toSpanRecord } from '../../../src/platform/telemetry/span-file.ts';

test('spanLine(span) is JSON.stringify(toSpanRecord(span)) for every shape of span', async () => {
  const captured: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => { captured.push(...spans); done({ code: ExportResultCode.SUCCESS }); },
    shutdown: async () => undefined,
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'svc "quoted"', 'service.instance.id': 'svc-1', 'process.pid': 42 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('t');
  const root = tracer.startSpan('process rlmesh.r.rollouts', {
    kind: SpanKind.CONSUMER,
    attributes: { 's': 'a\nb"c\\', 'n': 1.5, 'i': -3, 'b': false, 'list': ['x', 'y'], 'nums': [1, 2.5], 'bad': Number.NaN, 'inf': Number.POSITIVE_INFINITY, 'ünï': 'côde' },
  });
  const child = tracer.startSpan('verifier.verify', {
    links: [{ context: root.spanContext(), attributes: { 'rlmesh.kind': 'trajectory' } }],
  }, trace.setSpan(ROOT_CONTEXT, root));
  child.addEvent('graded', { 'rlmesh.correct': true });
  child.recordException(new Error('bad "input"'));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'trajectory.task: is required' });
  child.end();
  const ok = tracer.startSpan('learner.step');
  ok.setStatus({ code: SpanStatusCode.OK });
  ok.end();
  root.end();
  await provider.forceFlush();
  assert.equal(captured.length, 3);
  for (const s of captured) {
    const line = spanLine(s);
    assert.equal(line, JSON.stringify(toSpanRecord(s)), s.name);
    JSON.parse(line);
  }
  assert.ok(captured.some((s) => toSpanRecord(s).parentSpanId !== null), 'a span with a parent was checked');
  await provider.shutdown();
});
