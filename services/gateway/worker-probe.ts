// Live view of a run's spawned workers: gRPC health (grpc.health.v1), policy version (rollout GetPolicy,
// learner GetState) and throughput (rate of the actor's main Prometheus counter between two probes).
import { loadPackageDefinition, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { callUnary, channelCredentials, createGrpcClient, serverTlsFromEnv, type ClientTlsOptions } from '../../src/platform/grpc/index.ts';
import { LearnerUpdateClient } from '../../src/generated/rlmesh/v1/learner.ts';
import { StudentRolloutClient } from '../../src/generated/rlmesh/v1/rollout.ts';
import type { WorkerView } from './api-schemas.ts';
import type { ActorSlot } from './local-actors.ts';

/** Counter whose rate is a worker's throughput, per actor. */
const THROUGHPUT: Record<string, { metric: string; unit: string }> = {
  rollout: { metric: 'rlmesh_rollout_tokens_total', unit: 'tokens/s' },
  teacher: { metric: 'rlmesh_teacher_scored_tokens_total', unit: 'tokens/s' },
  verifier: { metric: 'rlmesh_verifier_verified_total', unit: 'completions/s' },
  learner: { metric: 'rlmesh_learner_steps_total', unit: 'steps/s' },
};

type HealthCheck = (req: { service: string }, opts: { deadline: number }, cb: (err: ServiceError | null, res?: { status: string }) => void) => void;
type HealthClient = Client & { check: HealthCheck };
type HealthCtor = new (address: string, creds: ChannelCredentials) => HealthClient;

let healthCtor: HealthCtor | undefined;
function healthClient(address: string, creds: ChannelCredentials): HealthClient {
  if (!healthCtor) {
    const def = loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
    const pkg = loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: HealthCtor } } } };
    healthCtor = pkg.grpc.health.v1.Health;
  }
  return new healthCtor(address, creds);
}

/** Sum of every sample of `metric` in a Prometheus text exposition. */
export function sumCounter(text: string, metric: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== ' ' && line[metric.length] !== '{')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

interface ProbeResult { health: string; policyVersion: number | null; throughput: number | null; counter?: { value: number; at: number } }

/**
 * How the gateway reaches the workers it spawned, which serve what the shared environment says (runtime.ts): TLS
 * when RLMESH_GRPC_TLS_CERT/_KEY are set, trusting RLMESH_GRPC_TLS_CA (system roots without it) and, as the workers
 * then require a client certificate signed by that CA, presenting the same certificate. (The certificate must name
 * 127.0.0.1, the address the gateway dials.)
 */
export function probeTlsFromEnv(env: NodeJS.ProcessEnv): ClientTlsOptions | undefined {
  const server = serverTlsFromEnv(env);
  if (!server) return undefined;
  return server.clientCa ? { ca: server.clientCa, cert: server.cert, key: server.key } : {};
}

export class WorkerProbe {
  private readonly results = new Map<string, ProbeResult>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly creds: ChannelCredentials | undefined;
  /** Why the TLS settings cannot be used (a PEM file missing): every probe reports it as the workers' health. */
  private readonly tlsProblem: string | undefined;

  /**
   * `tls`: how to reach the workers' gRPC servers; by default probeTlsFromEnv (the environment the spawned workers
   * share). A PEM file that cannot be read makes every probe report it rather than fail the run.
   */
  constructor(
    private readonly slots: readonly ActorSlot[],
    private readonly periodMs = 2000,
    private readonly tls: ClientTlsOptions | undefined = probeTlsFromEnv(process.env),
  ) {
    try {
      this.creds = channelCredentials(tls);
    } catch (err) {
      this.tlsProblem = `tls: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.probeAll(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  views(): WorkerView[] {
    return this.slots.map((s) => {
      const r = this.results.get(s.label);
      const exited = s.state === 'exited';
      return {
        worker: s.label, actor: s.actor, pid: s.proc.child.pid ?? null, process: s.state,
        health: exited ? 'NOT_SERVING' : (r?.health ?? 'unknown'), policyVersion: r?.policyVersion ?? null,
        throughput: exited ? null : (r?.throughput ?? null), throughputUnit: THROUGHPUT[s.actor]?.unit ?? '', exitCode: s.exitCode,
      };
    });
  }

  /** One probe of every ready worker (skipped while the previous one still runs). */
  async probeAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.slots.filter((s) => s.state === 'ready' && s.grpcPort).map((s) => this.probe(s)));
    } finally {
      this.running = false;
    }
  }

  private async probe(s: ActorSlot): Promise<void> {
    const address = `127.0.0.1:${s.grpcPort}`;
    const prev = this.results.get(s.label);
    const [health, policyVersion, counter] = this.creds
      ? await Promise.all([checkHealth(address, this.creds), policyOf(s.actor, address, this.tls), this.scrape(s)])
      : [this.tlsProblem!, undefined, await this.scrape(s)];
    let throughput = prev?.throughput ?? null;
    if (counter && prev?.counter && counter.at > prev.counter.at) throughput = (counter.value - prev.counter.value) / ((counter.at - prev.counter.at) / 1000);
    this.results.set(s.label, { health, policyVersion: policyVersion ?? prev?.policyVersion ?? null, throughput, counter: counter ?? prev?.counter });
  }

  private async scrape(s: ActorSlot): Promise<{ value: number; at: number } | undefined> {
    const spec = THROUGHPUT[s.actor];
    if (!spec || !s.metricsPort) return undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`, { signal: AbortSignal.timeout(1500) });
      const value = sumCounter(await res.text(), spec.metric);
      return value === null ? undefined : { value, at: Date.now() };
    } catch {
      return undefined;
    }
  }
}

function checkHealth(address: string, creds: ChannelCredentials): Promise<string> {
  const client = healthClient(address, creds);
  return new Promise((resolve) => {
    client.check({ service: '' }, { deadline: Date.now() + 1500 }, (err, res) => {
      client.close();
      resolve(err ? 'unreachable' : String(res?.status ?? 'UNKNOWN'));
    });
  });
}

async function policyOf(actor: string, address: string, tls: ClientTlsOptions | undefined): Promise<number | undefined> {
  try {
    if (actor === 'rollout') {
      const client = createGrpcClient(StudentRolloutClient, address, { deadlineMs: 1500, retries: 0, ...(tls ? { tls } : {}) });
      try { return Number((await callUnary(client, 'getPolicy', {})).policyVersion); } finally { client.close(); }
    }
    if (actor === 'learner') {
      const client = createGrpcClient(LearnerUpdateClient, address, { deadlineMs: 1500, retries: 0, ...(tls ? { tls } : {}) });
      try { return Number((await callUnary(client, 'getState', {})).policyVersion); } finally { client.close(); }
    }
  } catch {
    return undefined;
  }
  return undefined;
}
