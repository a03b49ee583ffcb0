// Test helper: `rlmesh serve verifier` as a child process; resolves once it prints its READY line.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServedActor {
  proc: ChildProcess;
  grpcPort: number;
  metricsPort: number;
  /** everything the child wrote to stderr so far */
  stderr(): string;
  /** SIGTERM, then waits for exit; resolves with the exit code */
  stop(): Promise<number | null>;
}

export async function serveVerifier(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServedActor> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', 'verifier', '--port', '0', '--metrics-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = once(proc, 'exit');
  const lines = createInterface({ input: proc.stdout! });
  const ready = new Promise<RegExpMatchArray>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^READY verifier grpc=(\d+) metrics=(\d+)/.exec(line);
      if (m) resolve(m);
    });
    void exited.then(([code]) => reject(new Error(`verifier exited (${String(code)}) before READY: ${err.slice(-2000)}`)));
  });
  const m = await ready;
  return {
    proc,
    grpcPort: Number(m[1]),
    metricsPort: Number(m[2]),
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
  };
}
