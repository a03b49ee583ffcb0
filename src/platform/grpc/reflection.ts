// Server reflection over the repository's proto/ files (plus grpc.health.v1), so grpcurl and other
// languages can discover every rlmesh service without the .proto files.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';
import { RlmeshError } from '../../errors.ts';

/** `<repo>/proto`, resolved from this file so it works from any working directory. */
export const DEFAULT_PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../proto');

function protoFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return protoFiles(root, p);
    return p.endsWith('.proto') ? [path.relative(root, p)] : [];
  });
}

/** Loads every .proto under `protoDir` and the health proto into one package definition. */
export function loadReflectionPackage(protoDir: string = DEFAULT_PROTO_DIR): PackageDefinition {
  let files: string[];
  try {
    files = protoFiles(protoDir).sort();
  } catch (cause) {
    throw new RlmeshError('config', `reflection: cannot read proto directory ${protoDir}`, { field: 'reflection.protoDir', cause });
  }
  const healthRoot = path.resolve(path.dirname(healthProtoPath), '../..');
  return loadSync([...files, path.relative(healthRoot, healthProtoPath)], {
    includeDirs: [protoDir, healthRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

export function addReflection(server: Pick<Server, 'addService'>, protoDir?: string): void {
  new ReflectionService(loadReflectionPackage(protoDir)).addToServer(server);
}
