// Every run config in examples/ loads through the platform file loader and compiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { compileRunConfig, runConfigSchema } from '../../../src/config/index.ts';
import { loadConfigFile } from '../../../src/platform/config/index.ts';

const dir = path.resolve('examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const expected: Record<string, [mode: string, objective: string]> = {
  'opd.yaml': ['opd', 'reverse-kl'],
  'grpo.yaml': ['rlvr', 'grpo'],
  'dapo.yaml': ['rlvr', 'dapo'],
  'dr-grpo.yaml': ['rlvr', 'dr-grpo'],
  'forward-kl-sft.yaml': ['sft', 'forward-kl'],
  'dagger.yaml': ['dagger', 'forward-kl'],
  'kl-mix.yaml': ['kl-mix', 'kl-mix'],
  'opd-plus-reward.yaml': ['opd+rlvr', 'opd-reverse-kl'],
  'pw-opsd.yaml': ['pw-opsd', 'pw-opsd'],
};

test('there is one example per mode listed in the brief', () => {
  assert.deepEqual(files, Object.keys(expected).sort());
});

for (const file of files) {
  test(`examples/${file} compiles`, async () => {
    const parsed = await loadConfigFile(path.join(dir, file), runConfigSchema);
    const c = compileRunConfig(parsed);
    assert.deepEqual([c.config.mode, c.config.objective.name], expected[file]);
    assert.equal(c.config.student.model, 'models/student');
    if (c.mode.needsTeacher) assert.ok(c.config.teacher, 'teacher resolved');
    const picks = c.createCurriculum().next(c.config.learner.batch_size / c.config.rollout.group_size);
    assert.ok(picks.length > 0 && picks.every((p) => p.category === 'add'));
  });
}
