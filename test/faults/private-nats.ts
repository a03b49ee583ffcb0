// A private nats-server for fault tests (own port, own store dir) that can be stopped and started again on the
// same port and store, so JetStream state survives the restart like a real broker's. Importing this module
// before the e2e harness points the harness (RLMESH_NATS_URL) at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort, portAnswers } from '../../src/platform/process/index.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export class RestartableNats {
  private proc?: ChildProcess;
  private constructor(readonly port: number, readonly storeDir: string, private readonly extraArgs: string[]) {}

  get url(): string { return `nats://127.0.0.1:${this.port}`; }
  /** pid of the running server process (undefined while it is down). */
  get pid(): number | undefined { return this.proc && this.proc.exitCode === null && this.proc.signalCode === null ? this.proc.pid : undefined; }

  static async start(extraArgs: string[] = []): Promise<RestartableNats> {
    const n = new RestartableNats(await freePort(), mkdtempSync(path.join(tmpdir(), 'rlmesh-faults-nats-')), extraArgs);
    await n.up();
    return n;
  }

  /** Starts the server (again) on the same port and store; resolves once it accepts connections. */
  async up(): Promise<void> {
    const proc = spawn(BIN, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...this.extraArgs], { stdio: 'ignore' });
    this.proc = proc;
    for (let i = 0; i < 150 && !(await portAnswers('127.0.0.1', this.port)); i++) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the server process (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  async destroy(): Promise<void> {
    await this.down();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
