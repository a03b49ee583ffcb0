// gRPC client helpers: createGrpcClient (TLS, message limits, default unary deadline, trace-context
// injection), callUnary (promise, retries on UNAVAILABLE with backoff, AbortSignal) and streamCall (async iteration).
import { InterceptingCall, Metadata, status as GrpcCode } from '@grpc/grpc-js';
import type {
  CallOptions,
  ChannelCredentials,
  Client,
  ClientOptions,
  ClientReadableStream,
  ClientUnaryCall,
  Interceptor,
  ServiceError,
} from '@grpc/grpc-js';
import { RlmeshError } from '../../errors.ts';
import { fromGrpcError, grpcCodeOf } from '../errors-map.ts';
import { channelCredentials } from './tls.ts';
import type { ClientTlsOptions } from './tls.ts';
import { injectTraceContext } from './trace-metadata.ts';

export interface GrpcClientOptions {
  /** Deadline for unary calls, ms, covering all retries; default 30000. Server streams get none by default. */
  deadlineMs?: number;
  /** Extra attempts for unary calls that fail with UNAVAILABLE; default 4. */
  retries?: number;
  /** First retry delay, ms, doubled per attempt (with jitter) up to retryMaxBackoffMs; default 100. */
  retryBackoffMs?: number;
  /** Longest retry delay, ms; default 2000. */
  retryMaxBackoffMs?: number;
  tls?: ClientTlsOptions;
  /** Max send and receive message size in bytes; default 64 MiB. */
  maxMessageBytes?: number;
}

export interface CallOptionsLike {
  /** Overrides the client's deadline for this call, ms. */
  deadlineMs?: number;
  /** Aborting cancels the call (the server's ctx.signal fires). */
  signal?: AbortSignal;
  metadata?: Metadata;
}

export type GrpcClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => C;

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;
type StreamMethod<Req, Res> = (request: Req, metadata?: Metadata, options?: Partial<CallOptions>) => ClientReadableStream<Res>;

/** Names of a generated client's server-streaming methods. */
export type StreamMethodName<C> = {
  [K in keyof C]-?: C[K] extends StreamMethod<infer _Req, infer _Res> ? K : never;
}[keyof C] & string;
/** Names of a generated client's unary methods. */
export type UnaryMethodName<C> = {
  [K in keyof C]-?: C[K] extends StreamMethod<infer _Q, infer _S> ? never : C[K] extends UnaryMethod<infer _Req, infer _Res> ? K : never;
}[keyof C] & string;
export type ClientRequest<F> = F extends UnaryMethod<infer Req, infer _Res> ? Req : F extends StreamMethod<infer Req, infer _R> ? Req : never;
export type ClientResponse<F> = F extends StreamMethod<infer _Req, infer Res> ? Res : F extends UnaryMethod<infer _Q, infer Res> ? Res : never;

interface ResolvedClientOptions {
  deadlineMs: number;
  retries: number;
  retryBackoffMs: number;
  retryMaxBackoffMs: number;
}

const DEFAULTS: ResolvedClientOptions = { deadlineMs: 30_000, retries: 4, retryBackoffMs: 100, retryMaxBackoffMs: 2_000 };
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const clientDefaults = new WeakMap<Client, ResolvedClientOptions>();

function withDefaults(o: GrpcClientOptions): ResolvedClientOptions {
  return {
    deadlineMs: o.deadlineMs ?? DEFAULTS.deadlineMs,
    retries: o.retries ?? DEFAULTS.retries,
    retryBackoffMs: o.retryBackoffMs ?? DEFAULTS.retryBackoffMs,
    retryMaxBackoffMs: o.retryMaxBackoffMs ?? DEFAULTS.retryMaxBackoffMs,
  };
}

/** Adds the active trace context to every call's metadata and a default deadline to unary calls. */
function rlmeshInterceptor(defaultDeadlineMs: number): Interceptor {
  return (options, nextCall) => {
    const unary = !options.method_definition.responseStream;
    const callOptions = unary && options.deadline === undefined ? { ...options, deadline: Date.now() + defaultDeadlineMs } : options;
    return new InterceptingCall(nextCall(callOptions), {
      start: (metadata, listener, next) => {
        injectTraceContext(metadata);
        next(metadata, listener);
      },
    });
  };
}

/** `createGrpcClient(VerifierRewardClient, '127.0.0.1:50053', { deadlineMs: 5000 })` */
export function createGrpcClient<C extends Client>(Ctor: GrpcClientConstructor<C>, address: string, options: GrpcClientOptions = {}): C {
  const resolved = withDefaults(options);
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const client = new Ctor(address, channelCredentials(options.tls), {
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    ...(options.tls?.serverName ? { 'grpc.ssl_target_name_override': options.tls.serverName } : {}),
    interceptors: [rlmeshInterceptor(resolved.deadlineMs)],
  });
  clientDefaults.set(client, resolved);
  return client;
}

function cancelledError(method: string): RlmeshError {
  return new RlmeshError('transport', `${method}: cancelled by the caller`, { details: { grpcCode: GrpcCode.CANCELLED } });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

function unaryOnce<Req, Res>(client: Client, fn: UnaryMethod<Req, Res>, req: Req, deadline: number, opts: CallOptionsLike): Promise<Res> {
  return new Promise((resolve, reject) => {
    const md = opts.metadata?.clone() ?? new Metadata();
    const call = fn.call(client, req, md, { deadline }, (err, res) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res);
    });
    function onAbort(): void {
      call.cancel();
    }
    opts.signal?.addEventListener('abort', onAbort);
  });
}

/**
 * Promise wrapper for a unary call: `await callUnary(client, 'verify', req, { deadlineMs, signal })`.
 * Retries UNAVAILABLE with exponential backoff inside one overall deadline; errors come back as RlmeshError.
 */
export async function callUnary<C extends Client, K extends UnaryMethodName<C>>(
  client: C,
  method: K,
  request: ClientRequest<C[K]>,
  opts: CallOptionsLike = {},
): Promise<ClientResponse<C[K]>> {
  const cfg = clientDefaults.get(client) ?? DEFAULTS;
  const fn = client[method] as unknown as UnaryMethod<ClientRequest<C[K]>, ClientResponse<C[K]>>;
  const deadline = Date.now() + (opts.deadlineMs ?? cfg.deadlineMs);
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw cancelledError(method);
    try {
      return await unaryOnce(client, fn, request, deadline, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw cancelledError(method);
      const backoff = Math.min(cfg.retryBackoffMs * 2 ** attempt, cfg.retryMaxBackoffMs) * (0.5 + Math.random() / 2);
      const retryable = grpcCodeOf(err) === GrpcCode.UNAVAILABLE && attempt < cfg.retries;
      if (!retryable || Date.now() + backoff >= deadline) throw fromGrpcError(err);
      await sleep(backoff, opts.signal);
    }
  }
}

/**
 * A server-streaming call as an async iterable: `for await (const t of streamCall(client, 'generate', req))`.
 * Breaking out of the loop or aborting `signal` cancels the call; errors come back as RlmeshError.
 */
export async function* streamCall<C extends Client, K extends StreamMethodName<C>>(
  client: C,
  method: K,
  request: ClientRequest<C[K]>,
  opts: CallOptionsLike = {},
): AsyncGenerator<ClientResponse<C[K]>, void, undefined> {
  const fn = client[method] as unknown as StreamMethod<ClientRequest<C[K]>, ClientResponse<C[K]>>;
  const callOptions: Partial<CallOptions> = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
  if (opts.signal?.aborted) throw cancelledError(method);
  const call = fn.call(client, request, opts.metadata?.clone() ?? new Metadata(), callOptions);
  const onAbort = (): void => call.cancel();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for await (const msg of call) yield msg as ClientResponse<C[K]>;
  } catch (err) {
    throw opts.signal?.aborted ? cancelledError(method) : fromGrpcError(err);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    call.cancel();
  }
}
