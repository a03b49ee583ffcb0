// Telemetry in-process: withSpan is a no-op before init, records nesting, errors, links and kinds after;
// span files round-trip and malformed lines are reported by line; header propagation round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { RlmeshError } from '../../../src/errors.ts';
import {
  currentSpanContext,
  extractTraceContext,
  initTelemetry,
  injectTraceHeaders,
  isTelemetryActive,
  linksTo,
  readSpanFile,
  spanContextFromHeaders,
  withSpan,
} from '../../../src/platform/telemetry/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-tel-'));

test('before initTelemetry withSpan runs fn with a non-recording span and injects nothing', async () => {
  assert.equal(isTelemetryActive(), false);
  const out = await withSpan('noop', {}, (span) => {
    assert.equal(span.isRecording(), false);
    const h = injectTraceHeaders(natsHeaders());
    assert.equal(h.get('traceparent'), '');
    return 7;
  });
  assert.equal(out, 7);
});

test('after initTelemetry spans nest, carry links/kinds/errors, and land in the span file on shutdown', async () => {
  const file = path.join(dir, 'spans.jsonl');
  const tel = initTelemetry({ serviceName: 'unit-svc', runId: 'run-u', spanFile: file, attributes: { 'rlmesh.actor': 'learner' }, env: {} });
  assert.equal(tel.exporter, 'file');
  assert.throws(() => initTelemetry({ serviceName: 'again', env: {} }), (e: unknown) => e instanceof RlmeshError && e.category === 'config');
  const h = natsHeaders();
  let linked: ReturnType<typeof currentSpanContext>;
  await withSpan('learner.ingest', { kind: SpanKind.CONSUMER, attributes: { 'rlmesh.step': 3 } }, async () => {
    linked = currentSpanContext();
    injectTraceHeaders(h);
    await withSpan('child', {}, async () => undefined);
  });
  assert.match(h.get('traceparent'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const remote = spanContextFromHeaders(h);
  assert.equal(remote?.spanId, linked?.spanId);
  assert.equal(trace.getSpanContext(extractTraceContext(h))?.traceId, linked?.traceId);
  await withSpan('learner.step', { links: linksTo([remote, undefined], { 'rlmesh.kind': 'trajectory' }) }, async () => undefined);
  await assert.rejects(withSpan('boom', {}, async () => {
    throw new Error('step diverged');
  }), /step diverged/);
  await tel.shutdown();
  assert.equal(isTelemetryActive(), false);

  const spans = readSpanFile(file);
  const get = (n: string) => spans.find((s) => s.name === n)!;
  assert.deepEqual(spans.map((s) => s.name).sort(), ['boom', 'child', 'learner.ingest', 'learner.step']);
  assert.equal(get('child').parentSpanId, get('learner.ingest').spanId);
  assert.equal(get('child').traceId, get('learner.ingest').traceId);
  assert.equal(get('learner.ingest').kind, 'CONSUMER');
  assert.equal(get('learner.ingest').attributes['rlmesh.step'], 3);
  assert.deepEqual(get('learner.step').links, [{ traceId: linked!.traceId, spanId: linked!.spanId, attributes: { 'rlmesh.kind': 'trajectory' } }]);
  assert.notEqual(get('learner.step').traceId, linked!.traceId, 'a link does not make a parent');
  assert.deepEqual(get('boom').status, { code: 'ERROR', message: 'step diverged' });
  assert.equal(get('boom').events[0]?.name, 'exception');
  for (const s of spans) {
    assert.equal(s.serviceName, 'unit-svc');
    assert.equal(s.pid, process.pid);
    assert.match(s.serviceInstanceId, /^unit-svc-/);
    assert.ok(s.endUnixMs >= s.startUnixMs && s.startUnixMs > 1.6e12, 'times are unix ms');
  }

  // initTelemetry works again after shutdown.
  const again = initTelemetry({ serviceName: 'second', spanFile: path.join(dir, 'second.jsonl'), env: {} });
  await withSpan('x', {}, () => undefined);
  await again.shutdown();
  assert.deepEqual(readSpanFile(path.join(dir, 'second.jsonl')).map((s) => s.serviceName), ['second']);
});

test('RLMESH_SPAN_FILE picks the file; OTEL_EXPORTER_OTLP_ENDPOINT switches to OTLP', async () => {
  const envFile = path.join(dir, 'from-env.jsonl');
  const a = initTelemetry({ serviceName: 'env-svc', env: { RLMESH_SPAN_FILE: envFile } });
  assert.equal(a.spanFile, envFile);
  assert.equal(a.exporter, 'file');
  await a.shutdown();
  const b = initTelemetry({ serviceName: 'otlp-svc', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' } });
  assert.equal(b.exporter, 'otlp');
  assert.equal(b.spanFile, undefined);
  await b.shutdown();
});

test('readSpanFile names the bad line, and skips a trailing partial line', () => {
  const file = path.join(dir, 'bad.jsonl');
  const good = {
    traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: null, name: 'n', kind: 'INTERNAL',
    startUnixMs: 1, endUnixMs: 2, attributes: {}, links: [], status: { code: 'UNSET' }, events: [],
    serviceName: 's', serviceInstanceId: 'i', pid: 1,
  };
  writeFileSync(file, JSON.stringify(good) + '\n');
  appendFileSync(file, '{"traceId": "a"'); // a writer mid-line
  assert.equal(readSpanFile(file).length, 1);
  writeFileSync(file, JSON.stringify(good) + '\n' + JSON.stringify({ ...good, kind: 'WEIRD' }) + '\n');
  assert.throws(() => readSpanFile(file), (e: unknown) => e instanceof RlmeshError && e.category === 'data' && e.field === 'line 2.kind');
  writeFileSync(file, 'not json\n');
  assert.throws(() => readSpanFile(file), (e: unknown) => e instanceof RlmeshError && e.field === 'line 1');
  assert.throws(() => readSpanFile(path.join(dir, 'missing.jsonl')), (e: unknown) => e instanceof RlmeshError && e.category === 'not_found');
});
