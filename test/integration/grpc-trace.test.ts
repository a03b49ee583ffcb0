// Tracing through the gRPC wrappers with a real OpenTelemetry SDK: the client interceptor injects
// `traceparent`, the server span (SERVER kind) continues the caller's trace and is active in the handler.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { invalidField } from '../../src/errors.ts';
import { VerifierRewardClient, VerifierRewardService } from '../../src/generated/rlmesh/v1/verifier.ts';
import { callUnary, createGrpcClient, createGrpcServer, silentLog, unary } from '../../src/platform/grpc/index.ts';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register(); // W3C trace-context propagator + async-local-storage context manager

after(() => provider.shutdown());

test('server spans continue the client trace and are active inside handlers', async () => {
  const activeInHandler: string[] = [];
  const server = createGrpcServer({ name: 'trace-test', host: '127.0.0.1', port: 0, log: silentLog });
  server.addService(VerifierRewardService, {
    verify: unary(async (req) => {
      activeInHandler.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
      return { rewards: req.items.map(() => ({ total: 1, components: {}, correct: true, parsedAnswer: '', reason: '', formatOk: true })) };
    }),
    listTasks: unary(async () => {
      throw invalidField('split', 'must be train or heldout');
    }),
  });
  const port = await server.start();
  const client = createGrpcClient(VerifierRewardClient, `127.0.0.1:${port}`);
  const tracer = trace.getTracer('test');
  try {
    const parent = tracer.startSpan('test.caller');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await callUnary(client, 'verify', { items: [{ taskId: 't', completion: 'c', completionTokens: 0 }], weights: {} });
      await assert.rejects(callUnary(client, 'listTasks', { suite: 'add', split: 'dev', limit: 1, seed: 0 }));
    });
    parent.end();

    const spans = exporter.getFinishedSpans();
    const verify = spans.find((s) => s.name === 'rlmesh.v1.VerifierReward/Verify');
    const list = spans.find((s) => s.name === 'rlmesh.v1.VerifierReward/ListTasks');
    assert.ok(verify && list, `spans: ${spans.map((s) => s.name).join(', ')}`);
    const caller = parent.spanContext();
    for (const s of [verify, list]) {
      assert.equal(s.kind, SpanKind.SERVER);
      assert.equal(s.spanContext().traceId, caller.traceId, 'same trace as the caller');
      assert.equal(s.parentSpanContext?.spanId, caller.spanId, 'child of the caller span');
      assert.equal(s.parentSpanContext?.isRemote, true);
      assert.equal(s.attributes['rpc.system'], 'grpc');
    }
    assert.deepEqual(activeInHandler, [verify.spanContext().spanId]);
    assert.equal(verify.status.code, SpanStatusCode.UNSET);
    assert.equal(list.status.code, SpanStatusCode.ERROR);
    assert.equal(list.attributes['rpc.grpc.status_code'], 3);
  } finally {
    client.close();
    await server.drain();
  }
});

test('a call made outside any span starts a new trace on the server', async () => {
  exporter.reset();
  const server = createGrpcServer({ name: 'trace-test', host: '127.0.0.1', port: 0, log: silentLog });
  server.addService(VerifierRewardService, {
    verify: unary(async () => ({ rewards: [] })),
    listTasks: unary(async () => ({ tasks: [] })),
  });
  const port = await server.start();
  const client = createGrpcClient(VerifierRewardClient, `127.0.0.1:${port}`);
  try {
    await callUnary(client, 'verify', { items: [], weights: {} });
    const [span] = exporter.getFinishedSpans();
    assert.ok(span);
    assert.equal(span.parentSpanContext, undefined);
  } finally {
    client.close();
    await server.drain();
  }
});
