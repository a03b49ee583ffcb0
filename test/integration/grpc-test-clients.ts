// Clients the gRPC integration tests use for the built-in services: grpc.health.v1.Health and server
// reflection (v1 and v1alpha), built from the packages' own .proto files.
import path from 'node:path';
import { createRequire } from 'node:module';
import { credentials, loadPackageDefinition, makeClientConstructor } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, ClientReadableStream, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';

export interface HealthClient extends Client {
  check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
  watch(req: { service: string }): ClientReadableStream<{ status: string }>;
}

export function healthClient(address: string): HealthClient {
  const Ctor = makeClientConstructor(healthService as Parameters<typeof makeClientConstructor>[0], 'grpc.health.v1.Health');
  return new Ctor(address, credentials.createInsecure()) as unknown as HealthClient;
}

export function checkHealth(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => client.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));
}

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
}
interface ReflectionClient extends Client {
  ServerReflectionInfo(): ClientDuplexStream<{ list_services: string }, ReflectionResponse>;
}

const require = createRequire(import.meta.url);
const reflectionRoot = path.resolve(path.dirname(require.resolve('@grpc/reflection')), '../proto');

/** Asks the reflection service (`version` v1 or v1alpha) for its service list. */
export function listServices(address: string, version: 'v1' | 'v1alpha'): Promise<string[]> {
  const def = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionRoot], keepCase: true });
  const pkg = loadPackageDefinition(def) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: ServiceClientConstructor }> };
  };
  const Ctor = pkg.grpc.reflection[version]!.ServerReflection;
  const client = new Ctor(address, credentials.createInsecure()) as unknown as ReflectionClient;
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on('data', (res: ReflectionResponse) => {
      resolve((res.list_services_response?.service ?? []).map((s) => s.name).sort());
      call.end();
      client.close();
    });
    call.on('error', reject);
    call.write({ list_services: '*' });
  });
}
