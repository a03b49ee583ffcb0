// Test fixture: a gateway child process in local mode (--spawn-actors) on a private NATS server and a temp runs
// folder, plus a Server-Sent Events reader and the small run config the gateway tests start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNatsServer, type PrivateNats } from '../fixtures/nats-server.ts';

export const CLI_MAIN = path.resolve('src/cli/main.ts');

export interface GatewayProcess {
  url: string;
  token: string;
  runsRoot: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts NATS and `rlmesh serve gateway --spawn-actors --rollout-workers 1`; resolves once it prints READY. */
export async function startGatewayProcess(token = 'test-token-123'): Promise<GatewayProcess> {
  const nats: PrivateNats = await startNatsServer();
  const root = mkdtempSync(path.join(tmpdir(), 'rlmesh-gw-'));
  const runsRoot = path.join(root, 'runs');
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', 'gateway', '--port', '0', '--host', '127.0.0.1', '--spawn-actors', '--rollout-workers', '1', '--nats', nats.url], {
    env: { ...process.env, RLMESH_API_TOKEN: token, RLMESH_RUNS_DIR: runsRoot, RLMESH_SPAN_FILE: path.join(root, 'gateway-spans.jsonl'), RLMESH_NATS_URL: nats.url, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not READY in 60 s:\n${out}`)), 60_000);
    const check = () => {
      const m = /READY gateway http=(\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout!.on('data', check);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`gateway exited before READY:\n${out}`)); });
  });
  return {
    url: `http://127.0.0.1:${port}`, token, runsRoot, child, output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      await nats.stop();
    },
  };
}

/** The small OPD run of the gateway tests: 3 learner steps of 8 trajectories (groups of 4), 24 new tokens. */
export function smallRunConfig(runId: string, steps = 3): Record<string, unknown> {
  return {
    run_id: runId, mode: 'opd', seed: 1,
    student: { model: 'models/student' }, teacher: { model: 'models/teacher', kind: 'separate' },
    tasks: { suite: 'add:1-2', heldout_size: 16 },
    rollout: { workers: 1, group_size: 4, max_in_flight: 4, sampling: { max_new_tokens: 24 } },
    learner: { steps, batch_size: 8, checkpoint_every: 0 },
    eval: { heldout_size: 16, every: 0 },
  };
}

export interface SseEvent { event: string; data: string }

/** Reads a text/event-stream response, calling `onEvent` per event until it returns true or the stream ends. */
export async function readSse(res: Response, onEvent: (e: SseEvent) => boolean | void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0 && onEvent({ event, data: data.join('\n') })) return;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
