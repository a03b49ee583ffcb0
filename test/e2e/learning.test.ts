// Learning is real: seeded in-process runs (the same compute as a distributed run) raise held-out accuracy of the
// shipped student by a margin — OPD against the shipped teacher, and GRPO with verifier rewards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/index.ts';
import { compileRunConfig } from '../../src/config/index.ts';
import { listTasks } from '../../src/tasks/index.ts';
import { evaluatePolicy, loadPolicy, runLocalLoop, type Policy } from '../../src/actors/index.ts';

const HELDOUT = 128;

function accuracy(policy: Policy): number {
  const tasks = listTasks({ suite: 'add:1-2', split: 'heldout', limit: HELDOUT, seed: 0 });
  return evaluatePolicy(policy, tasks, { k: 1, temperature: 0, maxNewTokens: 40 }).report.overall.accuracy;
}

async function trainAndMeasure(raw: Record<string, unknown>, steps: number): Promise<{ before: number; after: number }> {
  await initBackend('wasm');
  const run = compileRunConfig(raw);
  const student = await loadPolicy('models/student');
  const teacher = run.config.teacher ? { ...(await loadPolicy(run.config.teacher.model)), id: 'teacher', privileged: false } : undefined;
  const before = accuracy(student);
  runLocalLoop({ run, student, teacher, steps });
  const after = accuracy(student);
  student.model.dispose();
  teacher?.model.dispose();
  return { before, after };
}

/** What both runs share: the shipped student, 1-2 digit addition, 30 steps of 32 trajectories at temperature 1. */
const base = (over: { run_id: string; mode: string; teacher: unknown; group_size: number; lr: number; objective: unknown }) => ({
  run_id: over.run_id, mode: over.mode, seed: 0,
  student: { model: 'models/student' }, teacher: over.teacher,
  tasks: { suite: 'add:1-2' },
  rollout: { group_size: over.group_size, sampling: { temperature: 1.0, max_new_tokens: 40 } },
  learner: { steps: 30, batch_size: 32, lr: over.lr, max_staleness: 2 },
  objective: over.objective,
});

test('OPD (exact per-token reverse KL to the teacher on student prefixes) raises held-out accuracy of the student by >= 10 points', async () => {
  const { before, after } = await trainAndMeasure(base({
    run_id: 'learn-opd', mode: 'opd', teacher: { model: 'models/teacher', kind: 'separate' }, group_size: 4, lr: 3e-4,
    objective: { name: 'reverse-kl', params: {} },
  }), 30);
  console.log(`OPD held-out accuracy ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  assert.ok(after >= before + 0.10, `expected >= +10 points, got ${before} -> ${after}`);
});

test('GRPO with verifier rewards raises held-out accuracy of the student by >= 5 points', async () => {
  const { before, after } = await trainAndMeasure(base({
    run_id: 'learn-grpo', mode: 'rlvr', teacher: null, group_size: 8, lr: 1e-4, objective: { name: 'grpo', params: {} },
  }), 30);
  console.log(`GRPO held-out accuracy ${before.toFixed(3)} -> ${after.toFixed(3)}`);
  assert.ok(after >= before + 0.05, `expected >= +5 points, got ${before} -> ${after}`);
});
