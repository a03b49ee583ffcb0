// Gateway wiring: telemetry, NATS, the run controller for the configured run, and the HTTP API.
// Run: npx rlmesh serve gateway --port 8080 --config examples/opd.yaml
import { serve as serveHttp } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, natsOptionsFromEnv } from '../../src/platform/nats/index.ts';
import { createMetrics, initTelemetry } from '../../src/platform/telemetry/index.ts';
import type { Flags } from '../../src/cli/commands/command.ts';
import { loadRunConfig } from '../common/run-config.ts';
import { runDir } from '../common/run-dir.ts';
import { createApp } from './app.ts';
import { RunController } from './controller.ts';

function flag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export async function serveGateway(flags: Flags): Promise<number> {
  const log = (m: string) => process.stderr.write(`[gateway] ${m}\n`);
  const run = await loadRunConfig(flag(flags, 'config') ?? process.env.RLMESH_CONFIG, flag(flags, 'run') ?? process.env.RLMESH_RUN_ID);
  const runId = run.config.run_id;
  const telemetry = initTelemetry({ serviceName: 'rlmesh-gateway', runId });
  const metrics = createMetrics('gateway', runId);
  const natsOpts = natsOptionsFromEnv(process.env, 'rlmesh-gateway');
  const nc = await connectNats({ ...natsOpts, servers: flag(flags, 'nats') ?? natsOpts.servers, waitOnFirstConnect: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const controller = new RunController({ nc, js, jsm, run, dir: runDir(runId), log });
  const runs = new Map([[runId, controller]]);
  const app = createApp({ runs, registry: metrics.registry });
  const port = Number(flag(flags, 'port') ?? 8080);
  const server = await new Promise<ReturnType<typeof serveHttp>>((resolve) => {
    const s = serveHttp({ fetch: app.fetch, port, hostname: flag(flags, 'host') ?? '0.0.0.0' }, () => resolve(s));
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
