// Handler wrappers: services write plain async functions (`unary`, `serverStream`) with optional request
// validation; the server turns them into grpc-js handlers with tracing, metrics and error mapping.
import type { CallContext } from './call-context.ts';

export type UnaryFn<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
export type ServerStreamFn<Req, Res> = (req: Req, ctx: CallContext) => AsyncIterable<Res>;
/** Throws RlmeshError (usually `invalidField(...)`) when the request is unacceptable. */
export type RequestValidator<Req> = (req: Req) => void;

export interface HandlerOptions<Req> {
  validate?: RequestValidator<Req>;
}

export interface UnaryHandler<Req, Res> {
  readonly kind: 'unary';
  readonly fn: UnaryFn<Req, Res>;
  readonly validate?: RequestValidator<Req>;
}

export interface ServerStreamHandler<Req, Res> {
  readonly kind: 'serverStream';
  readonly fn: ServerStreamFn<Req, Res>;
  readonly validate?: RequestValidator<Req>;
}

/** `unary(async (req, ctx) => res, { validate })` */
export function unary<Req, Res>(fn: UnaryFn<Req, Res>, options: HandlerOptions<Req> = {}): UnaryHandler<Req, Res> {
  return { kind: 'unary', fn, validate: options.validate };
}

/** `serverStream(async function* (req, ctx) { yield msg }, { validate })`; writes respect back-pressure. */
export function serverStream<Req, Res>(
  fn: ServerStreamFn<Req, Res>,
  options: HandlerOptions<Req> = {},
): ServerStreamHandler<Req, Res> {
  return { kind: 'serverStream', fn, validate: options.validate };
}

/** The shape of one method in a ts-proto / grpc-js service definition. */
export interface MethodShape {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize: (b: Buffer) => unknown;
  // Parameter typed `never` so every concrete serializer is assignable.
  responseSerialize: (v: never) => Buffer;
}
export type ServiceShape = Record<string, MethodShape>;

export type RequestOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
export type ResponseOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** The handler object `addService` expects for a service definition (client/bidi streaming unsupported). */
export type HandlersFor<S extends ServiceShape> = {
  [K in keyof S]: S[K] extends { requestStream: false; responseStream: false }
    ? UnaryHandler<RequestOf<S[K]>, ResponseOf<S[K]>>
    : S[K] extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<RequestOf<S[K]>, ResponseOf<S[K]>>
      : never;
};
