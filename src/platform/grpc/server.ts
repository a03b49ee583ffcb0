// createGrpcServer: the one gRPC server every rlmesh service uses. Health (grpc.health.v1), reflection,
// message-size limits, optional TLS, counted + traced handlers, and graceful drain (optionally on SIGTERM/SIGINT).
import { Server } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { HealthImplementation } from 'grpc-health-check';
import type { Registry } from 'prom-client';
import { invalidField, RlmeshError } from '../../errors.ts';
import { dispatchServerStream, dispatchUnary } from './dispatch.ts';
import type { DispatchDeps } from './dispatch.ts';
import type { HandlersFor, ServerStreamHandler, ServiceShape, UnaryHandler } from './handlers.ts';
import { stderrLog } from './log.ts';
import type { GrpcLog } from './log.ts';
import { createGrpcServerMetrics } from './metrics.ts';
import type { GrpcServerMetrics } from './metrics.ts';
import { trackLongLivedCalls } from './long-lived-calls.ts';
import { addReflection } from './reflection.ts';
import { serverCredentials } from './tls.ts';
import type { ServerTlsOptions } from './tls.ts';

export interface GrpcServerOptions {
  /** Actor name (rollout, teacher, verifier, learner): used in logs and the tracer name. */
  name: string;
  /** Bind address; default `0.0.0.0`. */
  host?: string;
  /** Port; 0 picks a free one (start() returns it). */
  port: number;
  /** Max send and receive message size in bytes; default 64 MiB. */
  maxMessageBytes?: number;
  tls?: ServerTlsOptions;
  /** How long drain() lets in-flight calls finish before forcing them closed, ms; default 10000. */
  drainGraceMs?: number;
  /** How long drain() reports NOT_SERVING before refusing new calls, ms (lets probes/balancers notice); default 0. */
  drainDelayMs?: number;
  log?: GrpcLog;
  /** prom-client registry for the call counters; a private one when omitted. */
  registry?: Registry;
  /** Serve reflection over `protoDir` (default `<repo>/proto`); default true. */
  reflection?: boolean;
  protoDir?: string;
  /** Install SIGTERM/SIGINT handlers that drain and then exit the process; default false. */
  handleSignals?: boolean;
}

export interface GrpcServer {
  readonly name: string;
  readonly metrics: GrpcServerMetrics;
  addService<S extends ServiceShape>(definition: S, handlers: HandlersFor<S>): void;
  /** Binds and serves; resolves with the bound port. */
  start(): Promise<number>;
  /** Health NOT_SERVING, stop accepting calls, wait for in-flight ones (up to drainGraceMs), then force. */
  drain(): Promise<void>;
  /** Health status of every added service and of the overall "" entry. */
  setServing(serving: boolean): void;
  /** Calls currently running in rlmesh handlers (health/reflection not counted). */
  inFlight(): number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_DRAIN_GRACE_MS = 10_000;

function serviceNameOf(definition: ServiceShape): string {
  const first = Object.values(definition)[0];
  if (!first) throw new RlmeshError('config', 'addService: service definition has no methods', { field: 'definition' });
  return first.path.split('/')[1] ?? first.path;
}

/** What a request deserializer returns for bytes that are not the request message (grpc-js would say INTERNAL). */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** The definition with deserializers that never throw: undecodable bytes reach validation as UndecodableRequest. */
function tolerantDefinition(definition: ServiceShape): ServiceShape {
  const out: ServiceShape = {};
  for (const [key, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    out[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new UndecodableRequest(err instanceof Error ? err.message : String(err));
        }
      },
    };
  }
  return out;
}

/** Adds the undecodable-request check (INVALID_ARGUMENT naming `request`) in front of the handler's own. */
function refuseUndecodable<H extends UnaryHandler<unknown, unknown> | ServerStreamHandler<unknown, unknown>>(handler: H, path: string): H {
  const own = handler.validate;
  return {
    ...handler,
    validate: (req: unknown) => {
      if (req instanceof UndecodableRequest) throw invalidField('request', `cannot decode the ${path} request message: ${req.reason}`);
      own?.(req);
    },
  };
}

function isUnary<Req, Res>(h: UnaryHandler<Req, Res> | ServerStreamHandler<Req, Res>): h is UnaryHandler<Req, Res> {
  return h.kind === 'unary';
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const log = options.log ?? stderrLog;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const graceMs = options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS;
  const server = new Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
  });
  const metrics = createGrpcServerMetrics(options.registry);
  const longLived = trackLongLivedCalls(server);
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(longLived.registrar as Parameters<HealthImplementation['addToServer']>[0]);
  if (options.reflection !== false) addReflection(longLived.registrar, options.protoDir);

  const serviceNames: string[] = [];
  let inFlight = 0;
  const deps: DispatchDeps = {
    metrics,
    tracer: trace.getTracer(`rlmesh.grpc.${options.name}`),
    log,
    onEnter: () => {
      inFlight += 1;
    },
    onLeave: () => {
      inFlight -= 1;
    },
  };
  let started = false;
  let draining: Promise<void> | undefined;

  function setServing(serving: boolean): void {
    const st = serving ? 'SERVING' : 'NOT_SERVING';
    for (const s of ['', ...serviceNames]) health.setStatus(s, st);
  }

  function addService<S extends ServiceShape>(definition: S, handlers: HandlersFor<S>): void {
    if (started) throw new RlmeshError('config', 'addService must be called before start()', { field: 'addService' });
    const impl: UntypedServiceImplementation = {};
    for (const key of Object.keys(definition)) {
      const method = definition[key]!;
      const given = handlers[key] as UnaryHandler<unknown, unknown> | ServerStreamHandler<unknown, unknown> | undefined;
      if (!given) throw new RlmeshError('config', `addService: no handler for ${method.path}`, { field: key });
      if (method.requestStream) throw new RlmeshError('config', `addService: ${method.path} streams requests; unsupported`, { field: key });
      const handler = refuseUndecodable(given, method.path);
      if (isUnary(handler) === method.responseStream) {
        throw new RlmeshError('config', `addService: ${method.path} needs a ${method.responseStream ? 'serverStream' : 'unary'} handler`, { field: key });
      }
      impl[key] = isUnary(handler) ? dispatchUnary(method.path, handler, deps) : dispatchServerStream(method.path, handler, deps);
    }
    server.addService(tolerantDefinition(definition) as unknown as ServiceDefinition, impl);
    const name = serviceNameOf(definition);
    serviceNames.push(name);
    health.setStatus(name, 'NOT_SERVING');
  }

  function start(): Promise<number> {
    const address = `${options.host ?? '0.0.0.0'}:${options.port}`;
    return new Promise((resolve, reject) => {
      server.bindAsync(address, serverCredentials(options.tls), (err, port) => {
        if (err) {
          reject(new RlmeshError('transport', `gRPC ${options.name}: cannot bind ${address}: ${err.message}`, { field: 'port', cause: err }));
          return;
        }
        started = true;
        setServing(true);
        log.info('grpc server listening', { actor: options.name, port, tls: options.tls !== undefined, services: serviceNames });
        resolve(port);
      });
    });
  }

  async function drainOnce(): Promise<void> {
    setServing(false);
    log.info('grpc server draining', { actor: options.name, inFlight, graceMs });
    if (options.drainDelayMs) await new Promise((r) => setTimeout(r, options.drainDelayMs));
    const shutDown = new Promise<'shutdown'>((resolve) => server.tryShutdown(() => resolve('shutdown')));
    // Watchers have seen NOT_SERVING; ending their streams lets tryShutdown finish with our calls.
    longLived.endAll();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), graceMs);
    });
    const outcome = await Promise.race([shutDown, grace]);
    clearTimeout(timer);
    if (outcome === 'grace') {
      log.warn('grpc drain grace period ended; forcing shutdown', { actor: options.name, inFlight });
      server.forceShutdown();
    }
    log.info('grpc server stopped', { actor: options.name });
  }

  function drain(): Promise<void> {
    draining ??= drainOnce();
    return draining;
  }

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info('signal received; draining', { actor: options.name, signal });
      drain().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('drain failed', { actor: options.name, error: err });
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return { name: options.name, metrics, addService, start, drain, setServing, inFlight: () => inFlight };
}
