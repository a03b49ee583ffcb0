// Opt-in actor CPU profiles (RLMESH_CPU_PROF_DIR): a V8 profile file of the work done between start and stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCpuProfile } from '../../../src/platform/telemetry/cpu-profile.ts';

test('with a folder: stop writes <name>-<pid>.cpuprofile holding the profiled work; a second stop is a no-op', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rlmesh-prof-'));
  try {
    const stop = await startCpuProfile('unit', dir);
    function busyLoopForProfile(): number {
      let x = 0;
      for (const t = Date.now(); Date.now() - t < 50;) x += Math.sqrt(x + 1);
      return x;
    }
    busyLoopForProfile();
    await stop();
    await stop();
    const files = readdirSync(dir);
    assert.deepEqual(files, [`unit-${process.pid}.cpuprofile`]);
    const profile = JSON.parse(readFileSync(path.join(dir, files[0]!), 'utf8')) as { nodes: Array<{ callFrame: { functionName: string; url: string } }>; samples: number[] };
    assert.ok(profile.samples.length > 0);
    assert.ok(profile.nodes.some((n) => n.callFrame.url.endsWith('cpu-profile.test.ts')), 'code of this file ran while profiled');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
