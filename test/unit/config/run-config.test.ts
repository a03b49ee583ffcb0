// Run config: defaults, mode defaults, and every class of bad input failing with the offending path named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRunConfig, applyRewardShaping, runConfigSchema } from '../../../src/config/index.ts';
import { isRlmeshError } from '../../../src/errors.ts';

/** Asserts compileRunConfig(raw) throws a config RlmeshError whose field is `field` and message matches `re`. */
function fails(raw: unknown, field: string, re: RegExp): void {
  assert.throws(
    () => compileRunConfig(raw),
    (e: unknown) => {
      assert.ok(isRlmeshError(e), `not an RlmeshError: ${String(e)}`);
      assert.equal(e.category, 'config');
      assert.equal(e.field, field, e.message);
      assert.match(e.message, re);
      return true;
    },
  );
}

test('an empty config is fully defaulted: OPD on add:1-2 with the default teacher', () => {
  const c = compileRunConfig({});
  assert.match(c.config.run_id, /^run-\d{8}-\d{6}-[0-9a-f]{4}$/);
  assert.equal(c.config.mode, 'opd');
  assert.deepEqual(c.config.teacher, { model: 'models/teacher', kind: 'separate' });
  assert.equal(c.config.objective.name, 'opd-reverse-kl');
  assert.equal(c.config.objective.params.kl_coef, 1);
  assert.equal(c.config.learner.batch_size % c.config.rollout.group_size, 0);
  assert.deepEqual(c.suite, [{ category: 'add', difficulty: 1 }, { category: 'add', difficulty: 2 }]);
  assert.equal(c.objectives.objective.name, 'opd-reverse-kl');
  assert.equal(typeof c.objectives.objective.fn, 'function');
  assert.equal(c.createBatchFilter(), null);
  const cur = c.createCurriculum();
  assert.equal(cur.next(4).length, 4);
  // the resolved config is plain JSON and compiles to itself
  const again = compileRunConfig(JSON.parse(JSON.stringify(c.config)));
  assert.deepEqual(again.config, c.config);
});

test('mode defaults: rlvr has no teacher and GRPO; pw-opsd distils from the privileged student', () => {
  const rl = compileRunConfig({ mode: 'rlvr' });
  assert.equal(rl.config.teacher, null);
  assert.equal(rl.config.objective.name, 'grpo');
  const pw = compileRunConfig({ mode: 'pw-opsd', student: { model: 'ckpt/s1' } });
  assert.deepEqual(pw.config.teacher, { model: 'ckpt/s1', kind: 'privileged-self' });
  assert.equal(pw.config.objective.name, 'pw-opsd');
  const both = compileRunConfig({ mode: 'opd+rlvr' });
  assert.equal(both.config.objective.params.with_env_reward, true);
});

test('unknown keys are refused with their path', () => {
  fails({ foo: 1 }, 'foo', /unknown key "foo"/);
  fails({ learner: { step: 10 } }, 'learner.step', /unknown key "step"/);
  fails({ rollout: { sampling: { temp: 0.7 } } }, 'rollout.sampling.temp', /unknown key/);
  fails({ objective: { name: 'grpo', param: {} }, mode: 'rlvr' }, 'objective.param', /unknown key/);
});

test('wrong types and ranges are refused with their path', () => {
  fails({ learner: { lr: 'fast' } }, 'learner.lr', /Expected number, received string/);
  fails({ rollout: { group_size: 2.5 } }, 'rollout.group_size', /integer/);
  fails({ rollout: { sampling: { top_p: 1.5 } } }, 'rollout.sampling.top_p', /Number must be <= 1/);
  fails({ learner: { betas: [0.9] } }, 'learner.betas', /at least 2/);
  fails({ mode: 'ppo' }, 'mode', /opd.*rlvr/);
  fails({ run_id: 'has space' }, 'run_id', /A-Za-z0-9_-/);
  fails({ target_accuracy: 0 }, 'target_accuracy', /Number must be > 0/);
});

test('unknown methods name the allowed ones; out-of-range params name their path', () => {
  fails({ mode: 'rlvr', objective: { name: 'ppo' } }, 'objective.name', /unknown objective "ppo"; allowed: .*grpo.*dapo/);
  fails({ objective: { name: 'gkd-jsd', params: { beta: 2 } } }, 'objective.params.beta', /^objective\.params\.beta: Number must be <= 1$/);
  fails({ objective: { name: 'gkd-jsd', params: { gamma: 2 } } }, 'objective.params.gamma', /unknown key "gamma"; allowed: beta, lmbda/);
  fails({ mode: 'rlvr', token_selector: { name: 'top-entrpy' } }, 'token_selector.name', /allowed: top-entropy, tip/);
  fails({ mode: 'rlvr', entropy_control: { name: 'kl-cov', params: { fraction: -1 } } }, 'entropy_control.params.fraction', />= 0/);
  fails({ mode: 'rlvr', reward_shaping: [{ name: 'overlong' }, { name: 'peer' }] }, 'reward_shaping.1.name', /unknown reward shaping "peer"; allowed: pear/);
  fails({ curriculum: { name: 'bandit' } }, 'curriculum.name', /unknown curriculum "bandit"; allowed: uniform, sec, dump, cures, h1-horizon/);
  fails({ curriculum: { name: 'sec', params: { tau: 0 } } }, 'curriculum.params.tau', /Number must be > 0/);
  fails({ curriculum: { layers: [{ name: 'sec' }] } }, 'curriculum.layers.0.name', /unknown curriculum layer "sec"; allowed: tlts-budget/);
  fails({ mode: 'rlvr', batch_filter: { name: 'dapo', params: {} } }, 'batch_filter.name', /allowed: dapo-dynamic-sampling/);
});

test('cross-field checks', () => {
  fails({ mode: 'opd', teacher: null }, 'teacher', /mode "opd" needs a teacher/);
  fails({ mode: 'rlvr', teacher: { model: 'models/teacher' } }, 'teacher', /uses no teacher.*opd\+rlvr/);
  fails({ mode: 'pw-opsd', teacher: { kind: 'separate' } }, 'teacher.kind', /privileged-self/);
  fails({ mode: 'opd', objective: { name: 'grpo' } }, 'objective.name', /does not fit mode "opd"/);
  fails({ mode: 'opd+rlvr', objective: { name: 'grpo' } }, 'objective.params.opd_kl_coef', /> 0/);
  fails({ mode: 'sft', objective: { name: 'forward-kl', params: { prefix_source: 'student' } } }, 'objective.params.prefix_source', /dagger/);
  fails({ learner: { batch_size: 30 }, rollout: { group_size: 4 } }, 'learner.batch_size', /multiple of rollout.group_size \(4\)/);
  fails({ learner: { batch_size: 32 }, rollout: { group_size: 1, max_in_flight: 16 } }, 'rollout.max_in_flight', /must be >= 32, the groups one learner step takes .* would never gather a batch/);
  fails({ mode: 'rlvr', rollout: { group_size: 1 }, learner: { batch_size: 8 } }, 'rollout.group_size', />= 2/);
  fails({ eval: { heldout_size: 300 } }, 'eval.heldout_size', /<= tasks.heldout_size \(256\)/);
  fails({ reward_shaping: [{ name: 'overlong' }] }, 'reward_shaping', /mode "opd"/);
  fails({ batch_filter: { name: 'dapo-dynamic-sampling' } }, 'batch_filter', /mode "opd"/);
  fails({ mode: 'rlvr', objective: { name: 'grpo', params: { kl_coef: 0.05 } } }, 'objective.params.kl_coef', /no reference model/);
  fails({ tasks: { suite: 'add:1-2,foo:3' } }, 'tasks.suite', /unknown category or suite "foo"/);
  fails({ curriculum: { name: 'h1-horizon' } }, 'curriculum.params.category', /chain/);
  fails({ mode: 'kl-mix', entropy_control: { name: 'entrocraft' } }, 'entropy_control.name', /does not compose with objective 'kl-mix'/);  fails({ nats: { replicas: 7 } }, 'nats.replicas', /<=5|5/);
  // methods a run does not drive are refused by name instead of running as something else
  fails({ mode: 'rlvr', entropy_control: { name: 'aepo' } }, 'entropy_control.name', /'aepo' is not available in a run/);
  fails({ mode: 'rlvr', token_selector: { name: 'tip' } }, 'token_selector.name', /no teacher/);
  fails({ mode: 'rlvr', reward: { weights: { correctness: 1, length: 0.5 } } }, 'reward.weights.length', /tlts-budget/);
  // Entrocraft anneals over the run's own length unless told otherwise
  assert.equal(compileRunConfig({ mode: 'rlvr', learner: { steps: 120 }, entropy_control: { name: 'entrocraft' } }).config.entropy_control!.params.total_steps, 120);
  assert.equal(compileRunConfig({ mode: 'rlvr', entropy_control: { name: 'entrocraft', params: { total_steps: 50 } } }).config.entropy_control!.params.total_steps, 50);
  assert.equal(compileRunConfig({}).config.nats.replicas, 1);
  // Dr.GRPO's T_max defaults to the longest completion the run samples, not the batch's padded width
  assert.equal(compileRunConfig({ mode: 'rlvr', objective: { name: 'dr-grpo' }, rollout: { sampling: { max_new_tokens: 48 } } }).config.objective.params.max_completion_length, 48);
  assert.equal(compileRunConfig({ mode: 'rlvr', objective: { name: 'dr-grpo', params: { max_completion_length: 64 } } }).config.objective.params.max_completion_length, 64);
});

test('secret-looking keys and values are refused with a pointer to the env vars', () => {
  fails({ nats: { password: 'hunter2' } }, 'nats.password', /secrets never come from the run config.*RLMESH_NATS_PASSWORD/);
  fails({ api_token: 'abc' }, 'api_token', /secret/);
  fails({ nats: { creds: '/x.creds' } }, 'nats.creds', /secret/);
  fails({ student: { model: 'https://user:pw@example.com/m' } }, 'student.model', /URL with a password/);
  fails({ teacher: { model: '-----BEGIN RSA PRIVATE KEY-----' } }, 'teacher.model', /PEM private key/);
  // ordinary keys that merely contain "token" are fine
  const c = compileRunConfig({ mode: 'rlvr', token_selector: { name: 'top-entropy' }, rollout: { sampling: { max_new_tokens: 32 } } });
  assert.equal(c.config.token_selector?.name, 'top-entropy');
  // the loader-facing schema reports the same finding as a zod issue at the key's path
  const r = runConfigSchema.safeParse({ nats: { secret: 'x' } });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues[0]?.path, ['nats', 'secret']);
});

test('methods are built: reward shapers chain in order, the batch filter has the batch size in groups', () => {
  const c = compileRunConfig({
    mode: 'rlvr',
    rollout: { group_size: 4 },
    learner: { batch_size: 16 },
    reward_shaping: [{ name: 'overlong', params: { max_length: 20, buffer: 4 } }],
    batch_filter: { name: 'dapo-dynamic-sampling' },
  });
  // spec 3.4: L_max = 20, L_buf = 4, len 18 -> -0.5; len 15 -> 0
  assert.deepEqual(applyRewardShaping(c.rewardShaping, [{ reward: 1, length: 18 }, { reward: 1, length: 15 }]), [0.5, 1]);
  const f = c.createBatchFilter()!;
  assert.equal(f.batchGroups, 4);
});
