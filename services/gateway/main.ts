// Gateway wiring: telemetry, NATS, the run manager (and the run of --config, if any) and the HTTP API.
// Local mode (--spawn-actors) also spawns each run's actor processes; on a cluster the actors are deployed per run
// (infra/) and the gateway only dispatches and watches.
// Run: RLMESH_API_TOKEN=secret npx rlmesh serve gateway --port 8080 --spawn-actors [--config examples/opd.yaml]
import { serve as serveHttp } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadConfigFile } from '../../src/platform/config/index.ts';
import { runConfigSchema } from '../../src/config/index.ts';
import { connectNats, natsOptionsFromEnv } from '../../src/platform/nats/index.ts';
import { createMetrics, initTelemetry } from '../../src/platform/telemetry/index.ts';
import { runsRoot } from '../common/run-dir.ts';
import { createApp } from './app.ts';
import { RunManager } from './run-manager.ts';

export interface GatewayOptions {
  /** HTTP port (0 = any free port). Default 8080. */
  port?: number;
  host?: string;
  /** NATS URL; default from RLMESH_NATS_URL. */
  nats?: string;
  /** Run-config file started at boot; default RLMESH_CONFIG. Without one (and without `run`) no run starts until POST /runs. */
  config?: string;
  /** Overrides the run id of the boot run. */
  run?: string;
  /** Local mode: spawn verifier, teacher, learner and rollout processes for every run. Default false. */
  spawnActors?: boolean;
  /** Rollout processes per run in local mode; default the config's rollout.workers. */
  rolloutWorkers?: number;
  /** Bearer token for mutating endpoints; default RLMESH_API_TOKEN. */
  apiToken?: string;
}

export async function serveGateway(options: GatewayOptions): Promise<number> {
  const log = (m: string) => process.stderr.write(`[gateway] ${m}\n`);
  const configPath = options.config ?? process.env.RLMESH_CONFIG;
  const bootRunId = options.run ?? process.env.RLMESH_RUN_ID;
  const bootConfig = configPath || bootRunId
    ? { ...(configPath ? (await loadConfigFile(configPath, runConfigSchema)) as object : {}), ...(bootRunId ? { run_id: bootRunId } : {}) }
    : undefined;
  // The gateway's spans (the roots of every trajectory's trace: gateway.dispatch, publish tasks) go to RLMESH_SPAN_FILE,
  // else to a file under the runs folder, which the trace view joins with each run's span files.
  const telemetry = initTelemetry({
    serviceName: 'rlmesh-gateway', runId: bootRunId,
    spanFile: process.env.RLMESH_SPAN_FILE || path.join(runsRoot(), bootRunId ? path.join(bootRunId, 'spans', 'gateway.jsonl') : 'gateway-spans.jsonl'),
  });
  const metrics = createMetrics('gateway', bootRunId);
  const natsOpts = natsOptionsFromEnv(process.env, 'rlmesh-gateway');
  const natsUrl = options.nats ?? natsOpts.servers;
  const nc = await connectNats({ ...natsOpts, servers: natsUrl, waitOnFirstConnect: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const runs = new RunManager({
    nc, js, jsm, runsRoot: runsRoot(), log,
    spawn: options.spawnActors ? { natsUrl: Array.isArray(natsUrl) ? natsUrl[0]! : natsUrl, rolloutWorkers: options.rolloutWorkers } : undefined,
  });
  const app = createApp({ runs, registry: metrics.registry, apiToken: options.apiToken ?? process.env.RLMESH_API_TOKEN, extraSpanFiles: telemetry.spanFile ? [telemetry.spanFile] : [],
    otlpEndpoint: telemetry.exporter === 'otlp' ? process.env.OTEL_EXPORTER_OTLP_ENDPOINT : undefined });
  const port = options.port ?? 8080;
  const server = await new Promise<ReturnType<typeof serveHttp>>((resolve) => {
    const s = serveHttp({ fetch: app.fetch, port, hostname: options.host ?? '0.0.0.0' }, () => resolve(s));
  });
  const bound = (server.address() as AddressInfo).port;
  const boot = bootConfig ? await runs.create(bootConfig, configPath ?? 'RLMESH_RUN_ID') : undefined;
  console.log(`READY gateway http=${bound} run=${boot?.controller.runId ?? '-'} pid=${process.pid}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log('stopping');
  await runs.close();
  if ('closeAllConnections' in server) server.closeAllConnections(); // open SSE streams
  await new Promise<void>((r) => server.close(() => r()));
  await nc.drain().catch(() => nc.close());
  await telemetry.shutdown();
  return 0;
}
