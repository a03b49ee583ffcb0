// What every actor process opens before its own wiring: run config, telemetry, /metrics, NATS, a gRPC server.
// Everything opened is closed by `stop()` (in reverse order), also when a later step of `start` fails.
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CompiledRunConfig } from '../../src/config/index.ts';
import { loadRunConfig } from './run-config.ts';
import { createGrpcServer, serverTlsFromEnv, stderrLog, type GrpcServer } from '../../src/platform/grpc/index.ts';
import { connectNats, describeNatsOptions, natsOptionsFromEnv } from '../../src/platform/nats/index.ts';
import { createMetrics, initTelemetry, serveMetrics, type ActorMetrics, type Telemetry } from '../../src/platform/telemetry/index.ts';
import { startCpuProfile } from '../../src/platform/telemetry/cpu-profile.ts';

export interface ActorRuntimeOptions {
  actor: string;
  /** gRPC port (0 = any free port). */
  port: number;
  host?: string;
  /** Prometheus /metrics port (0 = any free port). */
  metricsPort: number;
  /** NATS URL; default from RLMESH_NATS_URL. */
  natsUrl?: string;
  /** Run-config file (YAML/JSON); default RLMESH_CONFIG. */
  configPath?: string;
  /** Overrides the config's run_id. */
  runId?: string;
  /** Distinguishes replicas (e.g. "rollout-2"). */
  workerId: string;
}

export interface ActorRuntime {
  options: ActorRuntimeOptions;
  run: CompiledRunConfig;
  runId: string;
  telemetry: Telemetry;
  metrics: ActorMetrics;
  metricsPort: number;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  grpc: GrpcServer;
  log(message: string): void;
  /** Registers cleanup run by stop() before the shared resources close (worker loops, caches). */
  onStop(fn: () => Promise<void> | void): void;
  /**
   * Ends this process with an error it cannot go on from (`rlmesh serve` drains it and exits 1, so a supervisor
   * restarts it); the first error wins.
   */
  fail(err: Error): void;
  /** Resolves with the error passed to fail(). */
  readonly failed: Promise<Error>;
  stop(): Promise<void>;
}

export async function startRuntime(options: ActorRuntimeOptions): Promise<ActorRuntime> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => { for (const c of closers.splice(0).reverse()) await c(); };
  const log = (m: string) => process.stderr.write(`[${options.workerId}] ${m}\n`);
  try {
    const stopProfile = await startCpuProfile(options.workerId); // RLMESH_CPU_PROF_DIR; written first thing in stop()
    closers.push(stopProfile);
    // RLMESH_GRPC_TLS_CERT + _KEY serve gRPC over TLS (+ _CA: clients must present a certificate it signed);
    // read before anything connects so a half-set pair fails the start naming the missing variable.
    const tls = serverTlsFromEnv(process.env);
    const run = await loadRunConfig(options.configPath ?? process.env.RLMESH_CONFIG, options.runId ?? process.env.RLMESH_RUN_ID);
    const runId = run.config.run_id;
    const telemetry = initTelemetry({ serviceName: `rlmesh-${options.actor}`, runId, attributes: { 'rlmesh.worker_id': options.workerId } });
    closers.push(() => telemetry.shutdown());
    const metrics = createMetrics(options.actor, runId);
    const metricsServer = await serveMetrics(metrics.registry, options.metricsPort);
    closers.push(() => metricsServer.close());
    const natsOpts = natsOptionsFromEnv(process.env, `rlmesh-${options.workerId}`);
    const natsTarget = { ...natsOpts, servers: options.natsUrl ?? natsOpts.servers, waitOnFirstConnect: true };
    // A worker waits for NATS as long as it takes (deployments start in any order) and says so while it waits.
    const waitStarted = Date.now();
    const waiting = setInterval(() => log(`still waiting for NATS at ${describeNatsOptions(natsTarget)} (${Math.round((Date.now() - waitStarted) / 1000)} s)`), 10_000);
    let nc: NatsConnection;
    try {
      nc = await connectNats(natsTarget);
    } finally {
      clearInterval(waiting);
    }
    closers.push(() => nc.drain().catch(() => nc.close()));
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const grpc = createGrpcServer({ name: options.actor, host: options.host ?? '0.0.0.0', port: options.port, registry: metrics.registry, log: stderrLog, ...(tls ? { tls } : {}) });
    const stops: Array<() => Promise<void> | void> = [];
    let fail!: (err: Error) => void;
    const failed = new Promise<Error>((resolve) => { fail = resolve; });
    const runtime: ActorRuntime = {
      options, run, runId, telemetry, metrics, metricsPort: metricsServer.port, nc, js, jsm, grpc, log,
      onStop: (fn) => { stops.push(fn); },
      fail: (err) => { log(`fatal: ${err.message}`); fail(err); },
      failed,
      async stop() {
        await stopProfile().catch((e: unknown) => log(`cpu profile: ${String(e)}`));
        await grpc.drain().catch((e: unknown) => log(`drain: ${String(e)}`));
        for (const s of stops.splice(0).reverse()) await s();
        await close();
      },
    };
    return runtime;
  } catch (err) {
    await close();
    throw err;
  }
}
