// Turns an rlmesh handler into a grpc-js handler: one SERVER span per call (parent from `traceparent`),
// request/error counters, request validation, back-pressured stream writes, and thrown errors mapped by
// errors-map. Nothing a handler throws escapes to crash the process.
import { Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
  StatusObject,
} from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { describeError, toGrpcStatus } from '../errors-map.ts';
import { createCallContext } from './call-context.ts';
import type { CallContext } from './call-context.ts';
import type { ServerStreamHandler, UnaryHandler } from './handlers.ts';
import type { GrpcServerMetrics } from './metrics.ts';
import { extractTraceContext } from './trace-metadata.ts';
import type { GrpcLog } from './log.ts';

export interface DispatchDeps {
  metrics: GrpcServerMetrics;
  tracer: Tracer;
  log: GrpcLog;
  /** Called when a call starts and ends, so drain knows when the service's own calls are done. */
  onEnter: () => void;
  onLeave: () => void;
}

interface CallScope {
  span: Span;
  ctx: CallContext;
  /** Records the outcome once: span status, counters, in-flight count. */
  finish: (err: unknown) => StatusObject | undefined;
  runInSpan: <T>(fn: () => Promise<T>) => Promise<T>;
}

function splitPath(path: string): { service: string; method: string } {
  const [, service = 'unknown', method = 'unknown'] = path.split('/');
  return { service, method };
}

function openScope(path: string, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>, deps: DispatchDeps): CallScope {
  const { service, method } = splitPath(path);
  const labels = { grpc_service: service, grpc_method: method };
  deps.metrics.started.inc(labels);
  const endTimer = deps.metrics.seconds.startTimer(labels);
  const parent = extractTraceContext(call.metadata, ROOT_CONTEXT);
  const span = deps.tracer.startSpan(`${service}/${method}`, {
    kind: SpanKind.SERVER,
    attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method },
  }, parent);
  const spanContext = trace.setSpan(parent, span);
  const { ctx, abortCause, dispose } = createCallContext(call, path);
  deps.onEnter();
  let done = false;
  return {
    span,
    ctx,
    runInSpan: (fn) => context.with(spanContext, fn),
    finish: (err) => {
      if (done) return undefined;
      done = true;
      let result: StatusObject | undefined;
      let code: GrpcCode = GrpcCode.OK;
      if (ctx.signal.aborted) {
        code = abortCause() === 'deadline' ? GrpcCode.DEADLINE_EXCEEDED : GrpcCode.CANCELLED;
        // Our deadline timer can fire before grpc-js cancels the call: answer with that status, not the handler's
        // AbortError (which would map to INTERNAL).
        result = { code, details: code === GrpcCode.DEADLINE_EXCEEDED ? 'deadline exceeded' : 'cancelled', metadata: new Metadata() };
      } else if (err !== undefined) {
        result = toGrpcStatus(err);
        code = result.code;
        const mapped = describeError(err);
        deps.metrics.errors.inc({ ...labels, category: mapped.category });
        if (code === GrpcCode.INTERNAL) deps.log.error('grpc handler failed', { method: path, error: err });
        span.recordException(err instanceof Error ? err : new Error(String(err)));
      }
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== GrpcCode.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: GrpcCode[code] });
      span.end();
      deps.metrics.handled.inc({ ...labels, grpc_code: GrpcCode[code] ?? String(code) });
      endTimer();
      dispose();
      deps.onLeave();
      return result;
    },
  };
}

export function dispatchUnary<Req, Res>(path: string, handler: UnaryHandler<Req, Res>, deps: DispatchDeps): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const scope = openScope(path, call as ServerUnaryCall<unknown, unknown>, deps);
    const run = async (): Promise<Res> => {
      handler.validate?.(call.request);
      return handler.fn(call.request, scope.ctx);
    };
    scope.runInSpan(run).then(
      (res) => {
        scope.finish(undefined);
        callback(null, res);
      },
      (err: unknown) => {
        const st = scope.finish(err) ?? toGrpcStatus(err);
        callback(st, null);
      },
    );
  };
}

function waitForDrain(stream: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    signal.addEventListener('abort', done);
  });
}

export function dispatchServerStream<Req, Res>(
  path: string,
  handler: ServerStreamHandler<Req, Res>,
  deps: DispatchDeps,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const untyped = call as ServerWritableStream<unknown, unknown>;
    const scope = openScope(path, untyped, deps);
    const run = async (): Promise<void> => {
      handler.validate?.(call.request);
      for await (const msg of handler.fn(call.request, scope.ctx)) {
        if (scope.ctx.signal.aborted) break;
        if (!call.write(msg)) await waitForDrain(untyped, scope.ctx.signal);
      }
    };
    scope.runInSpan(run).then(
      () => {
        scope.finish(undefined);
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        const st = scope.finish(err) ?? toGrpcStatus(err);
        if (!call.cancelled) call.emit('error', st);
      },
    );
  };
}
