// Who writes a group's completions (ALGORITHMS.md 1b, 2): the student, the teacher (mode sft: forward KL on teacher
// samples) or the dataset (GKD's off-policy share: the reference solution). Mode sft sampled the student, like
// dagger, and GKD's lmbda was never read: every group was on-policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../src/engine/index.ts';
import { compileRunConfig } from '../../../src/config/index.ts';
import {
  datasetGroups, loadPolicy, prefixSourceFor, rolloutGroups, runLocalLoop, sampleGroups, unitHash, type RolloutRequest,
} from '../../../src/actors/index.ts';
import type { TaskSpec } from '../../../src/generated/rlmesh/v1/common.ts';
import { listTasks, toTaskSpec } from '../../../src/tasks/index.ts';
import { RlmeshError } from '../../../src/errors.ts';

test('prefix sources: sft from the teacher, dagger from the student, GKD from the student with probability lmbda', () => {
  const sft = compileRunConfig({ mode: 'sft', teacher: { model: 'models/teacher' } }).config.objective;
  const dagger = compileRunConfig({ mode: 'dagger', teacher: { model: 'models/teacher' } }).config.objective;
  assert.equal(prefixSourceFor(sft, 'g1'), 'teacher');
  assert.equal(prefixSourceFor(dagger, 'g1'), 'student');
  const ids = Array.from({ length: 4000 }, (_, i) => `run-g${i}`);
  const share = (o: { name: string; params: Record<string, unknown> }, src: string) => ids.filter((g) => prefixSourceFor(o, g) === src).length / ids.length;
  const gkd = { name: 'gkd-jsd', params: { lmbda: 0.5, seq_kd: false, beta: 0.5 } };
  assert.ok(Math.abs(share(gkd, 'student') - 0.5) < 0.03, String(share(gkd, 'student')));
  assert.equal(share(gkd, 'student') + share(gkd, 'dataset'), 1);
  assert.ok(Math.abs(share({ ...gkd, params: { ...gkd.params, lmbda: 0.25, seq_kd: true } }, 'teacher') - 0.75) < 0.03);
  assert.equal(share({ ...gkd, params: { ...gkd.params, lmbda: 1 } }, 'student'), 1);
  assert.equal(unitHash('run-g7'), unitHash('run-g7'), 'every process draws the same');
  assert.throws(() => compileRunConfig({ mode: 'sft', teacher: { kind: 'privileged-self' } }), (e: unknown) => e instanceof RlmeshError && e.field === 'teacher.kind');
});

test('sampleGroups: teacher groups are the teacher\'s samples stamped with the student\'s version; dataset groups are the reference solution with the student\'s log-probs', async () => {
  await initBackend('wasm');
  const student = await loadPolicy('models/student');
  const teacher = await loadPolicy('models/teacher');
  student.version = 3;
  try {
    const reqs = listTasks({ suite: 'add:1-2', split: 'train', limit: 3, seed: 9 }).map((t, i): RolloutRequest => ({
      runId: 'r', groupId: `r-g${i}`, task: toTaskSpec(t) as TaskSpec, groupSize: 2, workerId: 'test',
      sampling: { temperature: 1.0, topK: 0, topP: 1.0, maxNewTokens: 40, stopTokenIds: [], seed: 11 },
    }));
    const sources = ['teacher', 'student', 'dataset'] as const;
    const out = sampleGroups({ student, teacher }, reqs, (r) => sources[Number(r.groupId.slice(3))]!);
    assert.deepEqual(out[0]!.map((t) => t.completionTokenIds), rolloutGroups({ ...teacher, version: 3 }, [reqs[0]!])[0]!.map((t) => t.completionTokenIds));
    assert.deepEqual(out[1]!.map((t) => t.completionTokenIds), rolloutGroups(student, [reqs[1]!])[0]!.map((t) => t.completionTokenIds));
    for (const g of out) for (const t of g) assert.equal(t.policyVersion, 3);
    const [fromData] = out[2]!;
    assert.equal(fromData!.completionText, reqs[2]!.task.referenceSolution);
    assert.equal(fromData!.completionTokenIds.at(-1), student.tokenizer.eosId);
    assert.equal(fromData!.samplingLogprobs.length, fromData!.completionTokenIds.length);
    assert.ok(fromData!.samplingLogprobs.every((x) => Number.isFinite(x) && x <= 0));
    assert.deepEqual(datasetGroups(student, [reqs[2]!])[0]![1]!.completionTokenIds, fromData!.completionTokenIds, 'every sample of the group');
  } finally {
    student.model.dispose();
    teacher.model.dispose();
  }
});

test('the in-process loop trains mode sft on teacher samples, dagger on student samples', async () => {
  await initBackend('wasm');
  const config = (mode: string) => compileRunConfig({
    run_id: `${mode}-loop`, mode, student: { model: 'models/student' }, teacher: { model: 'models/teacher' }, tasks: { suite: 'add:1-2' },
    rollout: { group_size: 1, max_in_flight: 32, sampling: { max_new_tokens: 24 } }, learner: { steps: 2, batch_size: 16 },
  });
  const teacher = { ...(await loadPolicy('models/teacher')), id: 'teacher', privileged: false };
  try {
    // the batch's accuracy says who wrote it: the teacher solves add:1-2 (100% greedy), the student 6%
    const firstStep = async (mode: string) => {
      const student = await loadPolicy('models/student'); // a fresh student per run (a trained one is a version ahead)
      try {
        let metrics: Record<string, number> = {};
        const totals = runLocalLoop({ run: config(mode), student, teacher, steps: 1, onStep: (_s, m) => { metrics = m; return false; } });
        assert.equal(totals.steps, 1);
        assert.ok(Number.isFinite(metrics.loss), `${mode}: ${JSON.stringify(metrics)}`);
        return metrics.accuracy!;
      } finally {
        student.model.dispose();
      }
    };
    const sft = await firstStep('sft');
    const dagger = await firstStep('dagger');
    assert.ok(sft >= 0.5 && dagger <= 0.3, `batch accuracy: sft ${sft}, dagger ${dagger}`);
  } finally {
    teacher.model.dispose();
  }
});
