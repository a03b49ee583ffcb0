// Gateway wiring: telemetry, NATS, the run controller for the configured run, and the HTTP API.
// Run: npx rlmesh serve gateway --port 8080 --config examples/opd.yaml
import { serve as serveHttp } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, natsOptionsFromEnv } from '../../src/platform/nats/index.ts';
import { createMetrics, initTelemetry } from '../../src/platform/telemetry/index.ts';
import { loadRunConfig } from '../common/run-config.ts';
import { runDir } from '../common/run-dir.ts';
import { createApp } from './app.ts';
import { RunController } from './controller.ts';

export interface GatewayOptions {
  /** HTTP port (0 = any free port). Default 8080. */
  port?: number;
  host?: string;
  /** NATS URL; default from RLMESH_NATS_URL. */
  nats?: string;
  /** Run-config file; default RLMESH_CONFIG. */
  config?: string;
  run?: string;
}

export async function serveGateway(options: GatewayOptions): Promise<number> {
  const log = (m: string) => process.stderr.write(`[gateway] ${m}\n`);
  const run = await loadRunConfig(options.config ?? process.env.RLMESH_CONFIG, options.run ?? process.env.RLMESH_RUN_ID);
  const runId = run.config.run_id;
  const telemetry = initTelemetry({ serviceName: 'rlmesh-gateway', runId });
  const metrics = createMetrics('gateway', runId);
  const natsOpts = natsOptionsFromEnv(process.env, 'rlmesh-gateway');
  const nc = await connectNats({ ...natsOpts, servers: options.nats ?? natsOpts.servers, waitOnFirstConnect: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const controller = new RunController({ nc, js, jsm, run, dir: runDir(runId), log });
  const runs = new Map([[runId, controller]]);
  const app = createApp({ runs, registry: metrics.registry });
  const port = options.port ?? 8080;
  const server = await new Promise<ReturnType<typeof serveHttp>>((resolve) => {
    const s = serveHttp({ fetch: app.fetch, port, hostname: options.host ?? '0.0.0.0' }, () => resolve(s));
  });
  const bound = (server.address() as AddressInfo).port;
  await controller.start();
  console.log(`READY gateway http=${bound} run=${runId} pid=${process.pid}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log('stopping');
  await controller.close();
  await new Promise<void>((r) => server.close(() => r()));
  await nc.drain().catch(() => nc.close());
  await telemetry.shutdown();
  return 0;
}
