// Opt-in CPU profiling of an actor process: with RLMESH_CPU_PROF_DIR set, the V8 profiler runs from start to stop
// and writes <dir>/<name>-<pid>.cpuprofile (open it in Chrome DevTools or speedscope). For finding where an actor's
// time goes inside a whole run, where `node --cpu-prof` is unavailable (processes spawned by the gateway).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/** Starts profiling when `dir` is set; the returned function stops it and writes the file (a no-op otherwise). */
export async function startCpuProfile(name: string, dir = process.env.RLMESH_CPU_PROF_DIR): Promise<() => Promise<void>> {
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
