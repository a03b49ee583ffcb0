// Rewards: hand-computed length rewards (ALGORITHMS.md 3.4, 9c), tag-format checks, the weighted sum with
// every component reported, and a batch mixing every kind of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkFormat,
  compileRewardOptions,
  generateTask,
  overlongPenalty,
  toTaskSpec,
  triangularLengthReward,
  verifyBatch,
  verifyCompletion,
  completionLength,
} from '../../../src/tasks/index.ts';
import { RlmeshError } from '../../../src/errors.ts';

test('triangular length reward: the section 9c cases', () => {
  assert.equal(triangularLengthReward(50, 100), 0.5);
  assert.equal(triangularLengthReward(100, 100), 1);
  assert.equal(triangularLengthReward(150, 100), 0.5);
  assert.equal(triangularLengthReward(200, 100), 0);
  assert.equal(triangularLengthReward(250, 100), 0);
  assert.equal(triangularLengthReward(0, 100), 0);
  assert.equal(triangularLengthReward(25, 100, 2), 0.5); // Rmax scales it
});

test('DAPO overlong shaping with its defaults (L_max 20480, L_buf 4096, kappa 1) and custom values', () => {
  assert.equal(overlongPenalty(100), 0);
  assert.equal(overlongPenalty(16384), 0); // = L_max - L_buf
  assert.equal(overlongPenalty(18432), -0.5);
  assert.equal(overlongPenalty(20480), -1);
  assert.equal(overlongPenalty(90, { maxLength: 100, buffer: 20, penalty: 0.5 }), -0.25);
  assert.equal(overlongPenalty(80, { maxLength: 100, buffer: 20, penalty: 0.5 }), 0);
  // past L_max the penalty stays at -kappa (a 1e9-token claim got -244,136)
  assert.equal(overlongPenalty(65_536), -1);
  assert.equal(overlongPenalty(1e9), -1);
  assert.equal(overlongPenalty(500, { maxLength: 100, buffer: 20, penalty: 0.5 }), -0.5);
});

test('format: well-formed, missing, duplicated, trailing, nested, overlapping and unbalanced tags', () => {
  assert.deepEqual(checkFormat('<think>a</think><answer>1</answer>'), { malformed: false, thinkOk: true, answerOk: true, reason: 'well-formed' });
  assert.deepEqual(checkFormat('<think>a</think>\n<answer>1</answer>\n'), { malformed: false, thinkOk: true, answerOk: true, reason: 'well-formed' });
  const noThink = checkFormat('<answer>1</answer>');
  assert.deepEqual([noThink.malformed, noThink.thinkOk, noThink.answerOk], [false, false, true]);
  const two = checkFormat('<think>a</think><answer>1</answer><answer>2</answer>');
  assert.deepEqual([two.malformed, two.thinkOk, two.answerOk, two.reason], [false, true, false, '2 answer blocks (want 1)']);
  const trailing = checkFormat('<think>a</think><answer>1</answer> and more');
  assert.deepEqual([trailing.answerOk, trailing.reason], [false, 'text after </answer>']);
  const empty = checkFormat('<think> </think><answer>1</answer>');
  assert.deepEqual([empty.thinkOk, empty.reason], [false, 'empty think block']);
  const late = checkFormat('<answer>1</answer><think>a</think>');
  assert.equal(late.thinkOk, false);
  assert.equal(checkFormat('<think>a<answer>1</answer></think>').reason, 'nested tags: <answer> inside <think>');
  assert.equal(checkFormat('<think>a<answer>1</think></answer>').reason, 'nested tags: <answer> inside <think>');
  assert.equal(checkFormat('<think>a</answer>').reason, 'overlapping tags: </answer> closes <think>');
  assert.equal(checkFormat('<think>a</think></think><answer>1</answer>').reason, 'unbalanced tags: </think> without <think>');
  assert.equal(checkFormat('<think>a</think><answer>1').reason, 'unbalanced tags: <answer> is never closed');
});

test('weighted sum reports every component; total = sum of weight * component', () => {
  const task = generateTask({ category: 'add', difficulty: 2, split: 'train', index: 3 }); // 58+29 = 87
  const options = compileRewardOptions({ weights: { correctness: 0.6, length: 0.3, format: 0.1, overlong: 1 }, lengthBudget: 20 });
  const text = '<think>8+9=17 c1 5+2+1=8</think><answer>87</answer>';
  assert.equal(completionLength(text), 23); // 17 + 2 characters and 4 tag tokens
  const r = verifyCompletion(task, text, options);
  assert.deepEqual(r.components, { correctness: 1, format: 1, overlong: 0, length: 1 - 3 / 20 });
  assert.ok(Math.abs(r.total - (0.6 + 0.1 + 0.3 * 0.85)) < 1e-12, String(r.total));
  // completion_tokens from the caller overrides the measured length
  assert.equal(verifyCompletion(task, text, options, 10).components.length, 0.5);
  // no think block: half the format component, still correct
  const noThink = verifyCompletion(task, '<answer>87</answer>', options);
  assert.equal(noThink.components.format, 0.5);
  assert.equal(noThink.correct, true);
  assert.match(noThink.reason, /0 think blocks/);
  // untagged answers are graded through the last-number fallback, with no format credit
  const bare = verifyCompletion(task, 'it is 87');
  assert.deepEqual([bare.correct, bare.components.format, bare.answerSource, bare.total], [true, 0, 'last_number', 1]);
});

test('reward options are validated with the field named', () => {
  const bad: Array<[Parameters<typeof compileRewardOptions>[0], string]> = [
    [{ weights: { novelty: 1 } }, 'weights.novelty'],
    [{ weights: { correctness: Number.NaN } }, 'weights.correctness'],
    [{ weights: { length: 0.3 } }, 'length_budget'],
    [{ lengthBudget: 0 }, 'length_budget'],
    [{ overlong: { buffer: 10, maxLength: 5 } }, 'overlong.buffer'],
  ];
  for (const [opts, field] of bad) {
    assert.throws(() => compileRewardOptions(opts), (e: unknown) => e instanceof RlmeshError && e.field === field, field);
  }
});

test('a batch mixing every kind of bad input: rewards 0 with reasons, or errors naming the field', () => {
  const add = generateTask({ category: 'add', difficulty: 2, split: 'train', index: 3 });
  const cd = generateTask({ category: 'countdown', difficulty: 3, split: 'train', index: 3 });
  const okText = add.referenceSolution;
  const badCountdownSpec = { ...toTaskSpec(cd), difficulty: 4 };
  const outcomes = verifyBatch([
    { taskId: add.taskId, completion: okText },
    { taskId: add.taskId, completion: '<think>x</think><answer>88</answer>' },
    { taskId: add.taskId, completion: '' },
    { taskId: add.taskId, completion: '   \n' },
    { taskId: add.taskId, completion: '<answer>87</answer>' + 'x'.repeat(1 << 20) },
    { taskId: add.taskId, completion: new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x38, 0x37]) },
    { taskId: add.taskId, completion: new TextEncoder().encode(okText) },
    { taskId: add.taskId, completion: '<answer>87\uFFFD</answer>' },
    { taskId: add.taskId, completion: '<answer>87\uD800</answer>' },
    { taskId: add.taskId, completion: '<think>x</think><answer>87' },
    { taskId: add.taskId, completion: '<think>x<answer>87</answer></think>' },
    { taskId: 'bogus/d1/train/0', completion: okText },
    { taskId: 'add/d99/train/0', completion: okText },
    { task: badCountdownSpec, completion: okText },
    { task: { ...toTaskSpec(add), category: 'poetry' }, completion: okText },
    { task: { ...toTaskSpec(add), answer: 'eighty' }, completion: okText },
    { task: toTaskSpec(cd), completion: '<think>t</think><answer>8*(5-1)</answer>' },
    { completion: okText },
  ]);
  const summary = outcomes.map((o) => (o.ok ? `${o.reward.total} ${o.reward.reason}` : `${o.error.category} ${o.error.field}`));
  assert.deepEqual(summary, [
    '1.1 correct',
    '0.1 wrong answer: expected 87',
    '0 empty completion',
    '0 empty completion',
    '0 completion too long: 1048595 chars > 65536',
    '0 invalid UTF-8 in completion bytes',
    '1.1 correct',
    '0 invalid UTF-8: completion contains U+FFFD replacement characters',
    '0 invalid UTF-16: lone surrogate in completion',
    '0 unbalanced tags: <answer> is never closed',
    '0 nested tags: <answer> inside <think>',
    'not_found items[11].task_id',
    'config items[12].task_id',
    'config items[13].task.params.numbers',
    'not_found items[14].task.category',
    'config items[15].task.answer',
    '1.1 correct',
    'config items[17].task_id',
  ]);
  for (const o of outcomes) if (o.ok && o.reward.total === 0) assert.ok(o.reward.reason.length > 0);
});
