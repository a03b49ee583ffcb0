// Prometheus counters for gRPC servers (started/handled by service, method and code), registered on the
// Registry the service passes in (or a private one), so services can expose them on /metrics.
import { Counter, Histogram, Registry } from 'prom-client';

export interface GrpcServerMetrics {
  registry: Registry;
  started: Counter<'grpc_service' | 'grpc_method'>;
  handled: Counter<'grpc_service' | 'grpc_method' | 'grpc_code'>;
  /** Handled calls that ended in an error, by error category (config, data, ..., internal). */
  errors: Counter<'grpc_service' | 'grpc_method' | 'category'>;
  seconds: Histogram<'grpc_service' | 'grpc_method'>;
}

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Idempotent per registry: two servers in one process share the same series. */
export function createGrpcServerMetrics(registry: Registry = new Registry()): GrpcServerMetrics {
  const registers = [registry];
  return {
    registry,
    started: getOrCreate(registry, 'rlmesh_grpc_server_started_total', () => new Counter({
      name: 'rlmesh_grpc_server_started_total',
      help: 'gRPC calls started on the server',
      labelNames: ['grpc_service', 'grpc_method'] as const,
      registers,
    })),
    handled: getOrCreate(registry, 'rlmesh_grpc_server_handled_total', () => new Counter({
      name: 'rlmesh_grpc_server_handled_total',
      help: 'gRPC calls completed on the server, by status code name',
      labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] as const,
      registers,
    })),
    errors: getOrCreate(registry, 'rlmesh_grpc_server_errors_total', () => new Counter({
      name: 'rlmesh_grpc_server_errors_total',
      help: 'gRPC calls that failed, by rlmesh error category',
      labelNames: ['grpc_service', 'grpc_method', 'category'] as const,
      registers,
    })),
    seconds: getOrCreate(registry, 'rlmesh_grpc_server_handling_seconds', () => new Histogram({
      name: 'rlmesh_grpc_server_handling_seconds',
      help: 'gRPC handler time in seconds',
      labelNames: ['grpc_service', 'grpc_method'] as const,
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers,
    })),
  };
}
