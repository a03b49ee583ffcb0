// Finds a NATS server for a local run: uses one that answers, else spawns `nats-server -js` on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RlmeshError, ErrorCategory } from '../../errors.ts';

export interface LocalNats {
  url: string;
  /** Set when this process started the server; `stop()` ends it. */
  spawned: boolean;
  stop(): Promise<void>;
}

/** True when a TCP connection to host:port opens within timeoutMs. */
export function portAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function findNatsServer(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/local/bin', '/usr/bin']);
  for (const d of dirs) {
    const p = path.join(d, 'nats-server');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Uses `url` when it answers; otherwise spawns a JetStream-enabled nats-server on a free loopback port. */
export async function ensureNats(url = 'nats://127.0.0.1:4222', log: (s: string) => void = () => {}): Promise<LocalNats> {
  const u = new URL(url.replace(/^nats:/, 'http:'));
  if (await portAnswers(u.hostname, Number(u.port || 4222))) {
    log(`using NATS at ${url}`);
    return { url, spawned: false, stop: async () => {} };
  }
  const bin = findNatsServer();
  if (!bin) {
    throw new RlmeshError(ErrorCategory.transport,
      `no NATS server answers at ${url} and nats-server is not installed. ` +
      'Install it (Debian/Ubuntu: `apt-get install nats-server`; others: https://docs.nats.io) or pass --nats URL.');
  }
  const port = await freePort();
  const storeDir = mkdtempSync(path.join(tmpdir(), 'rlmesh-nats-'));
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await portAnswers('127.0.0.1', port, 200)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await portAnswers('127.0.0.1', port))) {
    child.kill('SIGKILL');
    throw new RlmeshError(ErrorCategory.transport, `spawned ${bin} on port ${port} but it did not answer`);
  }
  const spawnedUrl = `nats://127.0.0.1:${port}`;
  log(`started nats-server -js at ${spawnedUrl} (pid ${child.pid})`);
  return {
    url: spawnedUrl,
    spawned: true,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}
