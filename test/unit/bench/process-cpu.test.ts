import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { coresBetween, readProcessCpu, type CpuReading } from '../../../bench/pipeline/process-cpu.ts';

const reading = (ms: number, entries: Array<[string, number]>): CpuReading => ({ ms, seconds: new Map(entries) });

test('coresBetween: CPU seconds per role over the readings that bracket the window', () => {
  const readings = [
    reading(0, [['learner', 1], ['rollout', 2]]),
    reading(1000, [['learner', 1.5], ['rollout', 2.2]]),
    reading(3000, [['learner', 2.5], ['rollout', 3.2]]),
    reading(4000, [['learner', 3.5], ['rollout', 3.3]]),
  ];
  // window [1200, 2800]: from the reading at 1000 to the one at 3000
  const cores = coresBetween(readings, 1200, 2800)!;
  assert.equal(cores.get('learner'), 0.5);
  assert.equal(cores.get('rollout'), 0.5);
  // a role missing from the later reading (its process exited) has no figure; a window past the readings uses the last one
  const gone = coresBetween([reading(0, [['verifier', 1]]), reading(1000, [['learner', 1]])], 0, 5000)!;
  assert.equal(gone.get('verifier'), undefined);
  assert.equal(gone.get('learner'), 1);
  assert.equal(coresBetween([reading(0, [['learner', 1]])], 0, 1), null, 'one reading is no rate');
});

test('readProcessCpu: a busy child under `serve <role>` is counted under its role', { skip: !existsSync('/proc/self/stat') && 'no /proc here' }, async () => {
  // A child whose command line says `serve spinner`, spinning for ~0.6 s of CPU.
  const child = spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 600) {}', 'serve', 'spinner'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  const seen = readProcessCpu(process.pid).seconds.get('spinner');
  await exited;
  assert.ok(seen !== undefined && seen > 0.1, `spinner CPU seconds read: ${seen}`);
  assert.equal(readProcessCpu(process.pid).seconds.get('spinner'), undefined, 'an exited process is gone');
});
