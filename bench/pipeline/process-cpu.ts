// CPU time of a process tree by role, read from /proc (Linux; elsewhere every reading is empty): where a distributed
// run's cores go (which actor, and the local nats-server), to compare with the in-process loop's cores.
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuReading {
  /** wall clock, unix ms */
  ms: number;
  /** cumulative CPU seconds (user + system) per role */
  seconds: Map<string, number>;
}

function stat(pid: number): { ppid: number; cpuSeconds: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** An actor's role from its command line (`serve <actor>`; rollout workers share one role), else null. */
function roleOf(args: readonly string[]): string | null {
  const at = args.indexOf('serve');
  if (at >= 0 && args[at + 1]) return args[at + 1]!;
  if (args.some((a) => a.endsWith('nats-server'))) return 'nats-server';
  return null;
}

/**
 * Cumulative CPU seconds of `root` and its descendants per role, plus every nats-server process on the machine (the
 * local broker, when there is one). Processes that exited are missing from later readings.
 */
export function readProcessCpu(root: number): CpuReading {
  const ms = Date.now();
  const seconds = new Map<string, number>();
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return { ms, seconds };
  }
  const parentOf = new Map<number, number>();
  const cpuOf = new Map<number, number>();
  for (const pid of pids) {
    const s = stat(pid);
    if (!s) continue;
    parentOf.set(pid, s.ppid);
    cpuOf.set(pid, s.cpuSeconds);
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parentOf.get(p), hops++) if (p === root) return true;
    return false;
  };
  for (const [pid, cpu] of cpuOf) {
    const role = roleOf(cmdline(pid));
    if (role !== 'nats-server' && !inTree(pid)) continue;
    if (role === null) continue; // a wrapper process (npm, sh) between the actors
    seconds.set(role, (seconds.get(role) ?? 0) + cpu);
  }
  return { ms, seconds };
}

/**
 * Cores each role used between two wall-clock times: the readings just before `fromMs` and just after `toMs` (the
 * nearest ones inside when none lies outside). Null when there are fewer than two readings or /proc had nothing.
 */
export function coresBetween(readings: readonly CpuReading[], fromMs: number, toMs: number): Map<string, number> | null {
  if (readings.length < 2) return null;
  const before = [...readings].reverse().find((r) => r.ms <= fromMs) ?? readings[0]!;
  const after = readings.find((r) => r.ms >= toMs) ?? readings[readings.length - 1]!;
  const seconds = (after.ms - before.ms) / 1000;
  if (seconds <= 0 || after.seconds.size === 0) return null;
  const out = new Map<string, number>();
  for (const [role, s] of after.seconds) out.set(role, Math.max(0, s - (before.seconds.get(role) ?? 0)) / seconds);
  return out;
}
