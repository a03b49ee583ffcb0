// Sampling and per-trajectory trace contexts: the standard OTEL_TRACES_SAMPLER variables pick the sampler (bad values
// refused), OTEL_SDK_DISABLED turns tracing off, a span started from a trace_context map joins that trace and keeps
// its sampling decision, and an unsampled span leaves a carried context as it is (nothing serialised).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { RlmeshError } from '../../../src/errors.ts';
import {
  initTelemetry, isTelemetryActive, readSpanFile, samplerFromEnv, spanContextFromMap, startSpanFromMap, traceContextAfter, traceContextMap, withSpan,
} from '../../../src/platform/telemetry/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-sampling-'));
const traceparent = (traceId: string, sampled: boolean) => `00-${traceId}-${'1'.repeat(16)}-${sampled ? '01' : '00'}`;

test('samplerFromEnv: default parent-based always on; the six standard names; bad names and ratios refused', () => {
  assert.equal(samplerFromEnv({}).name, 'parentbased_always_on');
  assert.equal(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }).sampler.toString(), 'AlwaysOnSampler');
  assert.equal(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).sampler.toString(), 'AlwaysOffSampler');
  assert.match(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }).sampler.toString(), /ParentBased\{root=AlwaysOffSampler/);
  const r = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' });
  assert.equal(r.ratio, 0.01);
  assert.match(r.sampler.toString(), /ParentBased\{root=TraceIdRatioBased\{0\.01\}/);
  assert.equal(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio' }).ratio, 1, 'no ratio: the specification default 1');
  const refused = (env: Record<string, string>, field: string) =>
    assert.throws(() => samplerFromEnv(env), (e: unknown) => e instanceof RlmeshError && e.category === 'config' && e.field === field);
  refused({ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER');
  refused({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG');
  refused({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' }, 'OTEL_TRACES_SAMPLER_ARG');
});

test('OTEL_SDK_DISABLED=true: no tracing, spans are no-ops, nothing is propagated', async () => {
  const tel = initTelemetry({ serviceName: 'off', env: { OTEL_SDK_DISABLED: 'true' } });
  assert.equal(tel.exporter, 'none');
  assert.equal(isTelemetryActive(), false);
  await withSpan('x', {}, (span) => assert.equal(span.isRecording(), false));
  assert.equal(startSpanFromMap('y', { traceparent: traceparent('a'.repeat(32), true) }).isRecording(), false);
  assert.deepEqual(traceContextMap(), {});
  await tel.shutdown();
});

test('parentbased_traceidratio 0: a trajectory span follows its trace_context decision; the context is only rewritten when recording', async () => {
  const file = path.join(dir, 'ratio.jsonl');
  const tel = initTelemetry({ serviceName: 'ratio', spanFile: file, env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' } });
  const sampledIn = { traceparent: traceparent('a'.repeat(32), true), tracestate: 'vendor=1' };
  const sampledOut = { traceparent: traceparent('b'.repeat(32), false) };

  const s1 = startSpanFromMap('verifier.verify', sampledIn);
  assert.equal(s1.isRecording(), true, 'a sampled parent is followed even at ratio 0');
  assert.equal(s1.spanContext().traceId, 'a'.repeat(32));
  const next = traceContextAfter(s1, sampledIn)!;
  assert.equal(spanContextFromMap(next)?.spanId, s1.spanContext().spanId, 'written back: the next stage parents on this span');
  assert.equal(next.tracestate, 'vendor=1');
  s1.end();

  const s2 = startSpanFromMap('verifier.verify', sampledOut);
  assert.equal(s2.isRecording(), false, 'an unsampled parent is followed (without asking the SDK)');
  assert.equal(traceContextAfter(s2, sampledOut), undefined, 'unsampled with a context: left as it is');
  s2.end();
  // A traceparent the fast path does not read (a future version) goes through the SDK, which follows it too.
  const future = { traceparent: `01-${'b'.repeat(32)}-${'1'.repeat(16)}-00-extra` };
  const s2b = startSpanFromMap('verifier.verify', future);
  assert.equal(s2b.isRecording(), false);
  assert.equal(s2b.spanContext().traceId, 'b'.repeat(32));
  s2b.end();

  // No context at all: a root decision (ratio 0: not sampled); its context is written so downstream keeps the decision.
  const s3 = startSpanFromMap('verifier.verify', {}, { parent: context.active() });
  assert.equal(s3.isRecording(), false);
  const fresh = traceContextAfter(s3, {})!;
  assert.match(fresh.traceparent!, /-00$/);
  assert.equal(spanContextFromMap(fresh)?.traceId, s3.spanContext().traceId);
  s3.end();

  // A key the new context lacks is blanked, so appending the map to encoded bytes overrides the old value.
  const s4 = startSpanFromMap('teacher.score', sampledIn);
  const blanked = traceContextAfter(s4, { ...sampledIn, extra: 'x' })!;
  assert.equal(blanked.extra, '');
  s4.end();
  await tel.shutdown();
  const spans = readSpanFile(file);
  assert.deepEqual(spans.map((s) => s.name).sort(), ['teacher.score', 'verifier.verify']);
  assert.ok(spans.every((s) => s.traceId === 'a'.repeat(32) && s.parentSpanId === '1'.repeat(16)));
  assert.equal(trace.getActiveSpan(), undefined);
});

test('a sampler that ignores the parent (always_on) records a span under an unsampled trace_context', async () => {
  const tel = initTelemetry({ serviceName: 'on', spanFile: path.join(dir, 'on.jsonl'), env: { OTEL_TRACES_SAMPLER: 'always_on' } });
  const span = startSpanFromMap('verifier.verify', { traceparent: traceparent('c'.repeat(32), false) });
  assert.equal(span.isRecording(), true);
  assert.equal(span.spanContext().traceId, 'c'.repeat(32));
  span.end();
  await tel.shutdown();
});
