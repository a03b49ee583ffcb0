// Public surface of the gRPC platform: server + handler wrappers, request checks, client helpers, TLS.
export type { CallContext } from './call-context.ts';
export type {
  HandlerOptions,
  HandlersFor,
  RequestValidator,
  ServerStreamFn,
  ServerStreamHandler,
  UnaryFn,
  UnaryHandler,
} from './handlers.ts';
export type { GrpcServer, GrpcServerOptions } from './server.ts';
export type { GrpcServerMetrics } from './metrics.ts';
export type { GrpcLog } from './log.ts';
export type { RangeBounds } from './validate.ts';
export type {
  CallOptionsLike,
  ClientRequest,
  ClientResponse,
  GrpcClientConstructor,
  GrpcClientOptions,
  StreamMethodName,
  UnaryMethodName,
} from './client.ts';
export type { ClientTlsOptions, PemSource, ServerTlsOptions } from './tls.ts';

export { createGrpcServer } from './server.ts';
export { serverStream, unary } from './handlers.ts';
export { check, checkEach, requireInRange, requireNonEmpty, requireOneOf, requirePresent } from './validate.ts';
export { callUnary, createGrpcClient, streamCall } from './client.ts';
export { channelCredentials, clientTlsFromEnv, serverCredentials, serverTlsFromEnv } from './tls.ts';
export { DEFAULT_PROTO_DIR, loadReflectionPackage } from './reflection.ts';
export { extractTraceContext, injectTraceContext, metadataGetter, metadataSetter } from './trace-metadata.ts';
export { silentLog, stderrLog } from './log.ts';
