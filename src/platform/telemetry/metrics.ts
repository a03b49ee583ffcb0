// Prometheus metrics: one registry per actor with default process metrics, served on /metrics.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ErrorCategory, RlmeshError } from '../../errors.ts';

export interface ActorMetrics {
  actor: string;
  registry: Registry;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** A registry labelled `actor=<actor>` (plus `run_id` when given) with Node process metrics registered. */
export function createMetrics(actor: string, runId?: string): ActorMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(runId ? { actor, run_id: runId } : { actor });
  collectDefaultMetrics({ register: registry });
  return { actor, registry };
}

/** Serves `GET /metrics` from registry on port (0 picks a free one); anything else is 404. */
export function serveMetrics(registry: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new RlmeshError(ErrorCategory.transport, `metrics server cannot listen on ${host}:${port}: ${err.message}`, { field: 'port', cause: err })),
    );
    server.listen(port, host, () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({ port: bound, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}
