// Starts rlmesh actors as child processes (a local run) and stops every one of them at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { nodeFlagsFor } from './node-flags.ts';

export interface ActorProcessOptions {
  /** Label used in logs, e.g. "rollout-1". */
  label: string;
  /** Arguments after `rlmesh`, e.g. ["serve", "rollout", "--port", "0"]. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Folder that receives `<label>.log` with the child's stdout and stderr. */
  logDir: string;
}

export interface ActorProcess {
  label: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the child ended. */
  exited: Promise<number | string>;
}

export interface SupervisorOptions {
  /** Script every child runs under `node --import tsx` (the rlmesh CLI entry, e.g. src/cli/main.ts). */
  entry: string;
}

export class Supervisor {
  private readonly procs: ActorProcess[] = [];
  private readonly logs: WriteStream[] = [];

  constructor(private readonly options: SupervisorOptions) {}

  start(opts: ActorProcessOptions): ActorProcess {
    mkdirSync(opts.logDir, { recursive: true });
    const log = createWriteStream(path.join(opts.logDir, `${opts.label}.log`));
    this.logs.push(log);
    const child = spawn(process.execPath, [...nodeFlagsFor(opts.args), '--import', 'tsx', this.options.entry, ...opts.args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    const proc = { label: opts.label, child, exited };
    this.procs.push(proc);
    return proc;
  }

  /** Lines a child printed that start with `prefix` (e.g. "READY "), delivered as they come. */
  static onLine(proc: ActorProcess, fn: (line: string) => void): void {
    let buf = '';
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        fn(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }

  /** Waits until the child prints a line starting with `prefix`; rejects if it exits first or time runs out. */
  static waitForLine(proc: ActorProcess, prefix: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${proc.label}: no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs);
      Supervisor.onLine(proc, (line) => {
        if (line.startsWith(prefix)) { clearTimeout(timer); resolve(line); }
      });
      void proc.exited.then((code) => { clearTimeout(timer); reject(new Error(`${proc.label} exited (${code}) before "${prefix}"`)); });
    });
  }

  get processes(): readonly ActorProcess[] { return this.procs; }

  /** SIGTERM every live child, SIGKILL after graceMs, and wait for all of them. */
  async stopAll(graceMs = 5000): Promise<void> {
    const live = this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of live) p.child.kill('SIGTERM');
    const timer = setTimeout(() => { for (const p of live) p.child.kill('SIGKILL'); }, graceMs);
    await Promise.all(live.map((p) => p.exited));
    clearTimeout(timer);
    for (const l of this.logs) l.end();
  }
}
